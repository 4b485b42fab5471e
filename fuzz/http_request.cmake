# Metrics endpoint: HTTP/1.1 request-head parser (metrics/http.hpp), parsegrinded.
mxsec_fuzz(http_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/http_request.cpp DEPS mxsec_metrics)
