# Policy decisions per second from a warm cache (bench/run_policy.sh; results
# in docs/benchmarks.md).
add_executable(policy_bench ${CMAKE_CURRENT_LIST_DIR}/policy_bench.cpp)
target_link_libraries(policy_bench PRIVATE mxsec_policy mxsec_mtasts mxsec_dns benchmark::benchmark)
