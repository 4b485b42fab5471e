# SMTP server line splitter (smtp/session/line.hpp), parsegrinded.
mxsec_fuzz(smtp_line SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/smtp_line.cpp DEPS mxsec_smtp_session)
