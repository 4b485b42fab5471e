mxsec_fuzz(message SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/message.cpp DEPS mxsec_codec)
