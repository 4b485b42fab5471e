# SMTP server command line and MAIL/RCPT arguments (smtp/proto/command.hpp).
mxsec_fuzz(smtp_command SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/smtp_command.cpp DEPS mxsec_smtp_proto)
