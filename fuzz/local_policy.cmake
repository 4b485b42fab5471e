mxsec_fuzz(local_policy SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/local_policy.cpp DEPS mxsec_policy)
