// The Boost.Test runner shared by the unit and integration binaries.
#define BOOST_TEST_MODULE sandhive
#include <boost/test/unit_test.hpp>
