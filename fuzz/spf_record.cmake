mxsec_fuzz(spf_record SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/spf_record.cpp DEPS mxsec_spf)
