mxsec_fuzz(dmarc_record SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/dmarc_record.cpp DEPS mxsec_dmarc)
