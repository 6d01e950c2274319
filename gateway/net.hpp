#pragma once

#include <boost/asio.hpp>

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
