mxsec_fuzz(dkim_key SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/dkim_key.cpp DEPS mxsec_dkim)
