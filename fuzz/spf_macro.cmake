mxsec_fuzz(spf_macro SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/spf_macro.cpp DEPS mxsec_spf)
