# DKIM sign/verify benchmark (bench/run_dkim.sh runs it with its peers;
# results in docs/bench-dkim.md).
#   dkim_bench: Google Benchmark, BM_Sign/BM_Verify x {rsa2048, ed25519} x {5k, 100k}
#   dkim_one:   N operations after set-up, for callgrind instruction counts
add_executable(dkim_bench ${CMAKE_CURRENT_LIST_DIR}/dkim_bench.cpp)
target_link_libraries(dkim_bench PRIVATE mxsec_dkim mxsec_codec mxsec_dns benchmark::benchmark)

add_executable(dkim_one ${CMAKE_CURRENT_LIST_DIR}/dkim_one.cpp)
target_link_libraries(dkim_one PRIVATE mxsec_dkim mxsec_codec mxsec_dns)
