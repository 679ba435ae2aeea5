# Parquet writer/reader throughput benchmark (bench/pq_bench.c -> lh-pq-bench);
# bench/pq_bench.py runs it next to pyarrow on the same data.
add_executable(lh-pq-bench bench/pq_bench.c)
target_link_libraries(lh-pq-bench PRIVATE lakehouse)
