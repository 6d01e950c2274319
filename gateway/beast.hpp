#pragma once

#include "gateway/net.hpp"

#include <boost/beast.hpp>

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;

namespace sbx {

/// A connection's stream, on its I/O thread's io_context (see net.hpp).
using tcp_stream = beast::basic_stream<tcp, io_executor>;

} // namespace sbx
