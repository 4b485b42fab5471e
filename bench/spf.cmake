add_executable(spf_bench ${CMAKE_CURRENT_SOURCE_DIR}/spf_bench.cpp)
target_link_libraries(spf_bench PRIVATE mxsec_spf benchmark::benchmark)

# N checks of one shape after set-up, for callgrind (bench/spf_callgrind.sh).
add_executable(spf_one ${CMAKE_CURRENT_SOURCE_DIR}/spf_one.cpp)
target_link_libraries(spf_one PRIVATE mxsec_spf)
