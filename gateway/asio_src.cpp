// Asio and Beast compiled once for the whole gateway (separate compilation):
// every other translation unit that includes them only declares.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
