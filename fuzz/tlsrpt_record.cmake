mxsec_fuzz(tlsrpt_record SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/tlsrpt_record.cpp DEPS mxsec_tlsrpt)
