# TLSA rdata -> decode -> DANE usability (tls/dane/tlsa.hpp) -> presentation.
mxsec_fuzz(dane_tlsa SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/dane_tlsa.cpp DEPS mxsec_dane)
