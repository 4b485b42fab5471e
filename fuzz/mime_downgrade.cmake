mxsec_fuzz(mime_downgrade SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/mime_downgrade.cpp DEPS mxsec_codec)
