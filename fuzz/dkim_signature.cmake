mxsec_fuzz(dkim_signature SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/dkim_signature.cpp DEPS mxsec_dkim)
