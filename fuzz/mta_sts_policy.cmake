mxsec_fuzz(mta_sts_policy SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/mta_sts_policy.cpp DEPS mxsec_mtasts)
