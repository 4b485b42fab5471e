add_executable(spf_bench ${CMAKE_CURRENT_SOURCE_DIR}/spf_bench.cpp)
target_link_libraries(spf_bench PRIVATE mxsec_spf benchmark::benchmark)
