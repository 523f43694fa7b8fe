#pragma once

// Internal to src/net: Asio/Beast aliases and helpers shared by the server and the clients.
// Include only from src/net/*.cpp (a Beast translation unit takes ~15 s to compile).

#include <cctype>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace borderflow::net::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Completion token: co_await yields std::tuple<error_code, ...> instead of throwing.
inline constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);

inline std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace borderflow::net::internal
