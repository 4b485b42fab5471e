mxsec_fuzz(tag_list SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/tag_list.cpp DEPS mxsec_codec)
