# DKIM: mxsec vs dkimpy (python3-dkim), Mail::DKIM (libmail-dkim-perl) and
# OpenDKIM (opendkim -t): both directions, both algorithms, all four
# canonicalizations, tamper tests. Prints the matrix and writes
# docs/dkim-interop.md.
if(TARGET mxsec)
  add_test(NAME interop.dkim
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/dkim_interop.py
                   --mxsec $<TARGET_FILE:mxsec> --data ${MXSEC_TESTDATA_DIR}
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/dkim-work
                   --report ${PROJECT_SOURCE_DIR}/docs/dkim-interop.md)
  set_tests_properties(interop.dkim PROPERTIES LABELS interop TIMEOUT 900)
endif()
