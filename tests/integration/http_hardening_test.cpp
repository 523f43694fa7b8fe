// The HTTP layer of a real node against the findings of the black-box security review: writes
// without a token refused before their body, response headers (no-store, the status page's
// policy, per-audience ETags) and live-feed streams released as soon as their client goes.

#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <borderflow/core/digest.h>
#include <borderflow/link/node_key.h>
#include <borderflow/net/testing/raw_socket.h>
#include <borderflow/net/testing/stream_reader.h>

#include "test_node.h"

namespace borderflow::testing {
namespace {

using net::testing::RawSocket;
using net::testing::StreamReader;
using namespace std::chrono_literals;

std::vector<std::pair<std::string, std::string>> Auth(const TestNode& node,
                                                      const std::string& user) {
  return {{"Authorization", "Bearer " + node.tokens().at(user)}};
}

// Review finding Low 8: an unauthenticated 500 kB POST with "Expect: 100-continue" was told
// "100 Continue" and read; it is refused from its header.
TEST(HttpHardening, WriteWithoutATokenIsRefusedBeforeItsBody) {
  TestNode node;
  RawSocket raw(node.port(), std::chrono::seconds(2));
  ASSERT_TRUE(raw.connected());
  raw.Send(
      "POST /api/v1/crossings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Idempotency-Key: k1\r\nExpect: 100-continue\r\nContent-Length: 500000\r\n\r\n");
  const std::string header = raw.ReadHeader();
  EXPECT_TRUE(header.starts_with("HTTP/1.1 401 ")) << header;
  EXPECT_NE(header.find("Connection: close"), std::string::npos) << header;
  EXPECT_NE(header.find("WWW-Authenticate: Bearer"), std::string::npos) << header;

  // The same through a client that sends the body: the same problem.
  ApiReply put = node.Call("PUT", "/api/v1/watchlists/sanctions", "", R"({"entries":[]})");
  EXPECT_EQ(put.status, 401) << put.raw;
  EXPECT_EQ(put.Code(), "authentication_required");
  // Routes that do not exist, or not with this method, are answered as before.
  EXPECT_EQ(node.Call("POST", "/api/v1/nothing-here", "", "{}").status, 404);
  EXPECT_EQ(node.Call("POST", "/api/v1/gate", "", "{}").status, 405);
  // With a token the request is read as before.
  ApiReply declared = node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration());
  EXPECT_EQ(declared.status, 201) << declared.raw;
}

// Review finding Low 13: API answers carry personal data and must not be stored by caches.
TEST(HttpHardening, ApiResponsesAreNotStored) {
  TestNode node;
  const std::string id = node.Declare();
  for (const auto& [target, user] : std::vector<std::pair<std::string, std::string>>{
           {"/api/v1/crossings/" + id, "fwd-a"},
           {"/api/v1/crossings/" + id, "operator"},
           {"/api/v1/crossings", "fwd-a"},
           {"/api/v1/me", "fwd-a"},
           {"/api/v1/crossings", ""},  // a 401
           {"/api/v1/crossings/CR-nope", "operator"}}) {
    ApiReply r = node.Call("GET", target, user);
    EXPECT_EQ(r.Header("Cache-Control"), "no-store") << target << " as " << user << ": " << r.raw;
  }
  ApiReply declared =
      node.Call("POST", "/api/v1/crossings", "fwd-a", node.DurianDeclaration("12C-555.55"));
  EXPECT_EQ(declared.Header("Cache-Control"), "no-store");
  // The public wait board keeps its short public cache, and any web page may show it; nothing
  // else is shared across origins.
  ApiReply board = node.Call("GET", "/api/v1/wait-board", "");
  EXPECT_EQ(board.Header("Cache-Control"), "public, max-age=15");
  EXPECT_EQ(board.Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(node.Call("GET", "/api/v1/crossings", "fwd-a").Header("Access-Control-Allow-Origin"),
            "");
  // HEAD is GET without the body (RFC 9110), for the pages and the API alike.
  for (const char* target : {"/", "/status", "/api/v1/wait-board"}) {
    ApiReply get = node.Call("GET", target, "");
    ApiReply head = node.Call("HEAD", target, "");
    EXPECT_EQ(head.status, get.status) << target;
    EXPECT_TRUE(head.raw.empty()) << target << ": " << head.raw;
  }
}

// Review finding Low 13: a forwarder's copy of a crossing (without the risk assessment) had the
// staff copy's ETag. Gate operators' and border guards' copy (without the fired rules that ask
// for a watch list) is another audience's too.
TEST(HttpHardening, TheETagOfACrossingNamesItsAudience) {
  TestNode node;
  const std::string id = node.Declare();
  ApiReply staff = node.Call("GET", "/api/v1/crossings/" + id, "customs");
  ASSERT_EQ(staff.status, 200) << staff.raw;
  const int64_t version = staff.body.at("version").as_int64();
  EXPECT_EQ(staff.Header("ETag"), "\"" + std::to_string(version) + "\"");
  for (const char* role : {"operator", "guard"}) {
    ApiReply restricted = node.Call("GET", "/api/v1/crossings/" + id, role);
    ASSERT_EQ(restricted.status, 200) << restricted.raw;
    EXPECT_EQ(restricted.Header("ETag"), "\"" + std::to_string(version) + "-w\"") << role;
  }
  ApiReply forwarder = node.Call("GET", "/api/v1/crossings/" + id, "fwd-a");
  ASSERT_EQ(forwarder.status, 200) << forwarder.raw;
  EXPECT_EQ(forwarder.Header("ETag"), "\"" + std::to_string(version) + "-f\"");
  ApiReply camera = node.Call("GET", "/api/v1/crossings/" + id, "camera");
  ASSERT_EQ(camera.status, 200) << camera.raw;
  EXPECT_EQ(camera.Header("ETag"), "\"" + std::to_string(version) + "-s\"");
}

// A poller (the forwarder portal, a control-room screen) revalidates with If-None-Match: 304
// without a body while its copy is current, 200 with the new ETag once the crossing moved, and
// never 304 for another audience's copy.
TEST(HttpHardening, IfNoneMatchAnswersNotModifiedWhileTheCopyIsCurrent) {
  TestNode node;
  const std::string id = node.Declare();
  const std::string target = "/api/v1/crossings/" + id;
  ApiReply first = node.Call("GET", target, "fwd-a");
  ASSERT_EQ(first.status, 200) << first.raw;
  const std::string etag = first.Header("ETag");
  ASSERT_FALSE(etag.empty());
  for (const std::string& header : {etag, "W/" + etag, "\"x\", " + etag, std::string("*")}) {
    ApiReply again = node.Call("GET", target, "fwd-a", {}, {}, {{"If-None-Match", header}});
    EXPECT_EQ(again.status, 304) << header << ": " << again.raw;
    EXPECT_TRUE(again.raw.empty()) << again.raw;
    EXPECT_EQ(again.Header("ETag"), etag);
  }
  ApiReply other_tag = node.Call("GET", target, "fwd-a", {}, {}, {{"If-None-Match", "\"999\""}});
  EXPECT_EQ(other_tag.status, 200);
  // The staff copy is another representation.
  ApiReply staff = node.Call("GET", target, "operator", {}, {}, {{"If-None-Match", etag}});
  EXPECT_EQ(staff.status, 200) << staff.raw;
  // Nobody else's crossing is revealed by a 304 either.
  ApiReply foreign = node.Call("GET", target, "fwd-b", {}, {}, {{"If-None-Match", "*"}});
  EXPECT_EQ(foreign.status, 404) << foreign.raw;
  ASSERT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
  ApiReply moved = node.Call("GET", target, "fwd-a", {}, {}, {{"If-None-Match", etag}});
  EXPECT_EQ(moved.status, 200) << moved.raw;
  EXPECT_NE(moved.Header("ETag"), etag);
}

// The expected call of a queued crossing is computed at each request from the queue: when the
// truck ahead of it is called forward, its place and expected call move while its own version
// stays, and the ETag must move with them, or a revalidating poller keeps the old place.
TEST(HttpHardening, TheETagFollowsTheExpectedCall) {
  TestNode node;
  std::string ahead = node.Declare("fwd-a", "12C-123.45");
  std::string behind = node.Declare("fwd-a", "12C-678.90");
  for (const std::string& id : {ahead, behind}) {
    ASSERT_EQ(node.Event(id, "assess", "customs", R"({"channel": "green"})").status, 200);
    ASSERT_EQ(node.Event(id, "enter_yard", "camera").status, 200);
  }
  const std::string target = "/api/v1/crossings/" + behind;
  ApiReply before = node.Call("GET", target, "fwd-a");
  ASSERT_EQ(before.status, 200) << before.raw;
  ASSERT_TRUE(before.body.as_object().contains("expected_call")) << before.raw;
  const std::string etag = before.Header("ETag");
  const std::string version = std::to_string(before.body.at("version").as_int64());
  EXPECT_TRUE(etag.starts_with("\"" + version + "-f.")) << etag;
  ApiReply call = node.Call("POST", "/api/v1/queue/call-next", "operator",
                            R"({"direction": "VN-CN", "lane_class": "fresh_produce"})");
  ASSERT_EQ(call.status, 200) << call.raw;
  ApiReply after = node.Call("GET", target, "fwd-a", {}, {}, {{"If-None-Match", etag}});
  ASSERT_EQ(after.status, 200) << after.raw;
  EXPECT_NE(after.body.at("expected_call"), before.body.at("expected_call"));
  EXPECT_EQ(after.body.at("version"), before.body.at("version"));  // only the queue moved
  EXPECT_NE(after.Header("ETag"), etag);
}

// Review finding Low 13: /status had none of the front end's protective headers. Its one inline
// script is allowed by hash, so the page still works under the policy.
TEST(HttpHardening, TheStatusPageHasASecurityPolicy) {
  TestNode node;
  for (const char* path : {"/status", "/"}) {  // "/" without a web front end
    ApiReply page = node.Call("GET", path, "");
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.Header("X-Frame-Options"), "DENY");
    EXPECT_EQ(page.Header("X-Content-Type-Options"), "nosniff");
    const std::string csp = page.Header("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    const size_t open = page.raw.find("<script>");
    const size_t close = page.raw.find("</script>");
    ASSERT_NE(open, std::string::npos);
    ASSERT_NE(close, std::string::npos);
    const std::string hex = Sha256Hex(page.raw.substr(open + 8, close - open - 8));
    std::vector<uint8_t> digest;
    for (size_t i = 0; i < hex.size(); i += 2) {
      digest.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    EXPECT_NE(csp.find("script-src 'sha256-" + Base64Encode(digest) + "'"), std::string::npos)
        << csp;
    EXPECT_EQ(page.raw.find("<script>", close), std::string::npos);  // the only script
  }
}

// Review finding Low 6: a live-feed client that went away kept its place among the user's 16
// streams until the next keep-alive write (15 s), so reconnecting at once was refused 429.
TEST(HttpHardening, AFeedStreamWhoseClientLeftFreesItsPlaceAtOnce) {
  TestNode node;  // keep-alive every 15 s (the default)
  std::vector<std::unique_ptr<StreamReader>> open;
  for (int i = 0; i < 16; ++i) {
    open.push_back(
        std::make_unique<StreamReader>(node.port(), "/api/v1/feed", Auth(node, "fwd-a")));
    ASSERT_TRUE(open.back()->WaitFor("event: hello\n")) << i << ": " << open.back()->body();
  }
  ASSERT_EQ(node.Call("GET", "/api/v1/feed", "fwd-a").Code(), "too_many_streams");
  open.pop_back();  // the client goes away
  const auto start = std::chrono::steady_clock::now();
  bool reopened = false;
  while (!reopened && std::chrono::steady_clock::now() - start < 3s) {
    StreamReader again(node.port(), "/api/v1/feed", Auth(node, "fwd-a"));
    reopened = again.WaitFor("event: hello\n", 1s);
    if (!reopened) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(reopened);
}

}  // namespace
}  // namespace borderflow::testing
