# DNS rdata decoders, presentation formatter and typed answer helpers.
mxsec_fuzz(dns_rdata SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/dns_rdata.cpp DEPS mxsec_dns)
