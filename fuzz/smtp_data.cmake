# DATA and BDAT text decoders (smtp/proto/data.hpp), parsegrinded.
mxsec_fuzz(smtp_data SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/smtp_data.cpp DEPS mxsec_smtp_proto)
