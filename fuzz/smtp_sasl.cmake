# SMTP AUTH exchange, server side (smtp/server/sasl.hpp): PLAIN and LOGIN.
mxsec_fuzz(smtp_sasl SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/smtp_sasl.cpp DEPS mxsec_smtp_server_auth)
