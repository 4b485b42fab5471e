mxsec_fuzz(auth_results SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/auth_results.cpp DEPS mxsec_ar)
