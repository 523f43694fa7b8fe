#include "metrics.h"

#include <map>
#include <mutex>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace borderflow::api {

struct ApiMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("borderflow_http_requests_total")
          .Help("HTTP requests by route pattern, method and status")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("borderflow_http_request_duration_seconds")
          .Help("HTTP request latency by route pattern")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& engine =
      prometheus::BuildGauge()
          .Name("borderflow_engine")
          .Help("Engine counters: commands, failures, replays, transactions, queue depth")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& predictions =
      prometheus::BuildGauge()
          .Name("borderflow_queue_prediction_abs_error_minutes")
          .Help(
              "Absolute error of the call times predicted when trucks joined the queue: "
              "mean and 90th percentile (minutes)")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& predictions_count =
      prometheus::BuildGauge()
          .Name("borderflow_queue_predictions_measured")
          .Help("Trucks called whose joining prediction was measured")
          .Register(*registry);
  std::mutex mu;  // Family::Add is thread-safe; the map of histograms is ours.
  std::map<std::string, prometheus::Histogram*, std::less<>> histograms;
};

ApiMetrics::ApiMetrics() : impl_(std::make_unique<Impl>()) {}
ApiMetrics::~ApiMetrics() = default;

namespace {

// The request's method as a label: any token is a valid method name, so a client could otherwise
// add a series to /metrics with every request. Methods that HTTP does not define count as "other".
std::string MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (std::string_view known : kKnown) {
    if (method == known) return std::string(known);
  }
  return "other";
}

}  // namespace

void ApiMetrics::ObserveRequest(std::string_view route, std::string_view method, int status,
                                std::chrono::nanoseconds elapsed) {
  std::string route_label = route.empty() ? "unmatched" : std::string(route);
  impl_->requests
      .Add({{"route", route_label},
            {"method", MethodLabel(method)},
            {"status", std::to_string(status)}})
      .Increment();
  prometheus::Histogram* h = nullptr;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->histograms.find(route_label);
    if (it == impl_->histograms.end()) {
      static const prometheus::Histogram::BucketBoundaries kBuckets = {
          0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
      h = &impl_->latency.Add({{"route", route_label}}, kBuckets);
      impl_->histograms.emplace(route_label, h);
    } else {
      h = it->second;
    }
  }
  h->Observe(std::chrono::duration<double>(elapsed).count());
}

std::string ApiMetrics::Render(const EngineStats& engine,
                               const Engine::PredictionAccuracy& predictions) {
  impl_->predictions.Add({{"stat", "mean"}}).Set(predictions.mean_abs_error_minutes);
  impl_->predictions.Add({{"stat", "p90"}}).Set(predictions.p90_abs_error_minutes);
  impl_->predictions_count.Add({}).Set(static_cast<double>(predictions.count));
  auto set = [&](const char* what, uint64_t v) {
    impl_->engine.Add({{"counter", what}}).Set(static_cast<double>(v));
  };
  set("commands", engine.commands.load());
  set("commands_failed", engine.commands_failed.load());
  set("replays", engine.replays.load());
  set("transactions", engine.transactions.load());
  set("transaction_failures", engine.transaction_failures.load());
  set("queue_depth", engine.queue_depth.load());
  set("catch_ups", engine.catch_ups.load());
  set("full_reloads", engine.full_reloads.load());
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

}  // namespace borderflow::api
