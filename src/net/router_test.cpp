#include <gtest/gtest.h>

#include <borderflow/net/http.h>

namespace borderflow::net {
namespace {

// Each route's handler answers with its own tag so tests can tell which one matched.
Handler Tag(std::string tag) {
  return [tag](HttpRequest&, Respond respond) {
    respond(HttpResponse{200, "text/plain", {}, tag, nullptr});
  };
}

std::string Invoke(const Router::Match& match) {
  if (match.handler == nullptr) return "<none>";
  std::string out;
  HttpRequest request;
  (*match.handler)(request, [&out](HttpResponse r) { out = r.body; });
  return out;
}

Router MakeRouter() {
  Router router;
  router.Add("GET", "/", Tag("root"));
  router.Add("GET", "/api/v1/crossings", Tag("list"));
  router.Add("POST", "/api/v1/crossings", Tag("create"));
  router.Add("GET", "/api/v1/crossings/{id}", Tag("get"));
  router.Add("DELETE", "/api/v1/crossings/{id}", Tag("delete"));
  router.Add("GET", "/api/v1/crossings/{id}/events/{seq}", Tag("event"));
  router.Add("GET", "/api/v1/crossings/active", Tag("active"));
  router.Add("GET", "/static/*", Tag("static"));
  return router;
}

TEST(RouterTest, MatchesExactPaths) {
  Router router = MakeRouter();
  auto match = router.Find("GET", "/api/v1/crossings");
  EXPECT_EQ(Invoke(match), "list");
  EXPECT_EQ(match.pattern, "/api/v1/crossings");
  EXPECT_TRUE(match.params.empty());
  EXPECT_EQ(Invoke(router.Find("POST", "/api/v1/crossings")), "create");
  EXPECT_EQ(Invoke(router.Find("GET", "/")), "root");
}

TEST(RouterTest, CapturesParams) {
  Router router = MakeRouter();
  auto match = router.Find("GET", "/api/v1/crossings/c-42/events/7");
  EXPECT_EQ(Invoke(match), "event");
  EXPECT_EQ(match.pattern, "/api/v1/crossings/{id}/events/{seq}");
  EXPECT_EQ(match.params.at("id"), "c-42");
  EXPECT_EQ(match.params.at("seq"), "7");
}

TEST(RouterTest, ParamMatchesDecodedSegmentWithSpaces) {
  Router router = MakeRouter();
  auto match = router.Find("GET", "/api/v1/crossings/a b");
  EXPECT_EQ(Invoke(match), "get");
  EXPECT_EQ(match.params.at("id"), "a b");
}

TEST(RouterTest, LiteralBeatsParamRegardlessOfOrder) {
  Router router = MakeRouter();  // "{id}" was added before "active"
  EXPECT_EQ(Invoke(router.Find("GET", "/api/v1/crossings/active")), "active");
  EXPECT_EQ(Invoke(router.Find("GET", "/api/v1/crossings/other")), "get");
}

TEST(RouterTest, ParamDoesNotMatchEmptySegmentOrExtraSegments) {
  Router router = MakeRouter();
  EXPECT_EQ(router.Find("GET", "/api/v1/crossings/").status, 404);
  EXPECT_EQ(router.Find("GET", "/api/v1/crossings/1/2").status, 404);
  EXPECT_EQ(router.Find("GET", "/api/v1").status, 404);
  EXPECT_EQ(router.Find("GET", "/api/v1/crossings/1/").status, 404);
}

TEST(RouterTest, WildcardCapturesRest) {
  Router router = MakeRouter();
  auto match = router.Find("GET", "/static/css/site.css");
  EXPECT_EQ(Invoke(match), "static");
  EXPECT_EQ(match.params.at("*"), "css/site.css");
  EXPECT_EQ(router.Find("GET", "/static/").params.at("*"), "");
  EXPECT_EQ(router.Find("GET", "/static/a").params.at("*"), "a");
  EXPECT_EQ(router.Find("GET", "/staticx/a").status, 404);
}

TEST(RouterTest, NotFound) {
  Router router = MakeRouter();
  auto match = router.Find("GET", "/nope");
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_EQ(match.status, 404);
  EXPECT_TRUE(match.allow.empty());
  EXPECT_TRUE(match.pattern.empty());
}

TEST(RouterTest, MethodNotAllowedListsMethods) {
  Router router = MakeRouter();
  auto match = router.Find("PUT", "/api/v1/crossings/9");
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_EQ(match.status, 405);
  EXPECT_EQ(match.allow, "GET, HEAD, DELETE");
  EXPECT_TRUE(match.params.empty());
  EXPECT_EQ(router.Find("DELETE", "/api/v1/crossings").allow, "GET, HEAD, POST");
}

TEST(RouterTest, MethodsAreStrictButHeadIsGet) {
  Router router = MakeRouter();
  // RFC 9110: HEAD is GET without the body; the server drops the body.
  auto head = router.Find("HEAD", "/api/v1/crossings/9");
  ASSERT_NE(head.handler, nullptr);
  EXPECT_EQ(head.pattern, router.Find("GET", "/api/v1/crossings/9").pattern);
  EXPECT_EQ(head.params.at("id"), "9");
  EXPECT_EQ(router.Find("get", "/api/v1/crossings").status, 405);
}

TEST(RouterTest, EmptyRouterFindsNothing) {
  Router router;
  EXPECT_EQ(router.Find("GET", "/").status, 404);
}

TEST(HttpRequestTest, HeaderIsCaseInsensitive) {
  HttpRequest request;
  request.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
  EXPECT_EQ(request.Header("Content-Type"), "application/json");
  EXPECT_EQ(request.Header("X-A"), "1");
  EXPECT_EQ(request.Header("missing"), "");
}

TEST(HttpRequestTest, QueryAndPathParams) {
  HttpRequest request;
  request.query = {{"state", "booked"}, {"empty", ""}, {"state", "other"}};
  request.path_params = {{"id", "42"}};
  ASSERT_TRUE(request.Query("state").has_value());
  EXPECT_EQ(*request.Query("state"), "booked");
  ASSERT_TRUE(request.Query("empty").has_value());
  EXPECT_EQ(*request.Query("empty"), "");
  EXPECT_FALSE(request.Query("State").has_value());
  EXPECT_EQ(request.PathParam("id"), "42");
  EXPECT_EQ(request.PathParam("nope"), "");
}

}  // namespace
}  // namespace borderflow::net
