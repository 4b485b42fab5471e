mxsec_fuzz(sts_record SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/sts_record.cpp DEPS mxsec_mtasts)
