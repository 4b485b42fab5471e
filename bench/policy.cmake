# Policy decisions per second from a warm cache (bench/run_policy.sh; results
# in docs/benchmarks.md).
add_executable(policy_bench ${CMAKE_CURRENT_LIST_DIR}/policy_bench.cpp)
target_link_libraries(policy_bench PRIVATE mxsec_policy mxsec_mtasts mxsec_dns benchmark::benchmark)

# `mxsec check` wall time and DNS queries per check on the transport test bed,
# cold and warm (bench/run_check.sh).
add_executable(check_bench ${CMAKE_CURRENT_LIST_DIR}/check_bench.cpp)
target_link_libraries(check_bench PRIVATE mxsec_check mxsec_dns)
