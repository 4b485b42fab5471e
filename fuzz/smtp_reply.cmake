# SMTP reply push parser (smtp/proto/reply.hpp) and EHLO capabilities, parsegrinded.
mxsec_fuzz(smtp_reply SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/smtp_reply.cpp DEPS mxsec_smtp_proto)
