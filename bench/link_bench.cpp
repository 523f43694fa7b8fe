// Signed messages per second end to end between the two nodes of the pair (issue 5).
//
// Starts the Vietnamese and the Chinese node in this process, each with its own SQLite
// database, keys and HTTPS peer listener on loopback. Fills the Vietnamese outbox with
// pre-arrival notices (declared and assessed trucks), then drains it through the real link:
// read the outbox, sign each message (Ed25519), POST the batch over TLS, verify every
// signature on the other side, apply each message once and in order (durable commit), sign the
// acknowledgement, verify it, and remove the delivered messages (durable commit). The figure is
// messages per second from the first send to the empty outbox, for two batch sizes, beside the
// cost of signing and verifying alone (the crypto floor) in the same run.
//
//   bash bench/run.sh link [--messages 4000]

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <borderflow/core/clock.h>
#include <borderflow/core/random.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/link/envelope.h>
#include <borderflow/link/messages.h>
#include <borderflow/link/node_key.h>
#include <borderflow/server/runtime.h>

using namespace borderflow;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

double Since(Steady::time_point from) {
  return std::chrono::duration<double>(Steady::now() - from).count();
}

template <class T>
void Check(const Result<T>& r, std::string_view what) {
  if (!r) {
    std::cerr << what << ": " << r.error().ToString() << "\n";
    std::exit(1);
  }
}

struct Pair {
  std::unique_ptr<Runtime> vn, cn;
};

Pair StartPair(const fs::path& dir, int batch_size, const borderflow::Clock& clock,
               Random& random) {
  fs::create_directories(dir);
  Timestamp now = clock.Now();
  NodeKey vn_key = GenerateNodeKey(now), cn_key = GenerateNodeKey(now);
  Check(WriteKeyFile((dir / "vn.key").string(), vn_key, true), "vn key");
  Check(WriteKeyFile((dir / "cn.key").string(), cn_key, true), "cn key");
  auto start = [&](const char* file, const char* key, const NodeKey& peer,
                   const char* db) -> std::unique_ptr<Runtime> {
    auto config = LoadGateConfig(std::string(BORDERFLOW_SOURCE_DIR) + "/config/" + file);
    Check(config, "config");
    config->link.enabled = true;
    config->link.key_file = (dir / key).string();
    config->link.listen = "127.0.0.1:0";
    config->link.batch_size = batch_size;
    config->counterpart.keys = {
        PinnedPeerKey{peer.key_id, Base64Encode(peer.public_key), std::nullopt, std::nullopt}};
    RuntimeOptions options;
    options.config = *config;
    options.db_path = (dir / db).string();
    options.queue_tick = Duration(0);
    options.link.sender = false;  // the benchmark drives the sender
    auto rt = Runtime::Start(std::move(options), clock, random);
    Check(rt, "start");
    return std::move(*rt);
  };
  Pair p;
  p.vn = start("huu-nghi.toml", "vn.key", cn_key, "vn.db");
  p.cn = start("youyiguan.toml", "cn.key", vn_key, "cn.db");
  p.vn->link()->SetPeerUrl(fmt::format("https://127.0.0.1:{}/peer/v1", p.cn->peer_port()));
  p.cn->link()->SetPeerUrl(fmt::format("https://127.0.0.1:{}/peer/v1", p.vn->peer_port()));
  return p;
}

// Declares and assesses `n` trucks on the Vietnamese node (submitted concurrently, so group
// commit keeps this quick): n pre-arrival notices in its outbox.
void FillOutbox(Engine& engine, int n) {
  Actor fwd{"u_bench_fwd", "bench-fwd", Role::kForwarder, "BENCH"};
  Actor customs{"u_bench_customs", "bench-customs", Role::kCustomsOfficer, ""};
  std::vector<std::string> ids(n);
  auto run_all = [&](auto make) {
    std::vector<std::promise<Result<CommandResult>>> done(n);
    for (int i = 0; i < n; ++i) {
      engine.Submit(make(i),
                    [&done, i](Result<CommandResult> r) { done[i].set_value(std::move(r)); });
    }
    std::vector<Result<CommandResult>> out;
    for (int i = 0; i < n; ++i) out.push_back(done[i].get_future().get());
    return out;
  };
  auto declared = run_all([&](int i) {
    std::string body = fmt::format(
        R"({{"direction": "VN-CN", "lane_class": "general_cargo",
             "vehicle": {{"plate": "12C-{:03d}.{:02d}", "seal_number": "S{}"}},
             "driver": {{"name": "Nguyen Van An", "document_number": "B{:07d}", "nationality": "VN"}},
             "lines": [{{"hs_code": "940360", "description": "Wooden furniture", "packages": 10,
                        "gross_weight_kg": 900, "value": {{"amount": 1800, "currency": "USD"}},
                        "origin_country": "VN"}}]}})",
        100 + i / 100 % 900, i % 100, i, i);
    auto decl = DecodeDeclaration(*ParseJson(body), engine.hs());
    Check(decl, "declaration");
    return Command{fwd, fmt::format("d{}", i), fmt::format("d{}", i), DeclareCrossing{*decl}};
  });
  for (int i = 0; i < n; ++i) {
    Check(declared[i], "declare");
    ids[i] = declared[i]->crossing->id;
  }
  auto assessed = run_all([&](int i) {
    return Command{customs, fmt::format("a{}", i), fmt::format("a{}", i),
                   RecordCrossingEvent{ids[i],
                                       CrossingEvent{CrossingEventType::kAssess,
                                                     boost::json::object{{"channel", "green"}}},
                                       std::nullopt}};
  });
  for (auto& r : assessed) Check(r, "assess");
}

struct Drained {
  int messages = 0;
  double seconds = 0;
};

Drained Drain(peer::PeerLink& link) {
  Drained d;
  Steady::time_point start = Steady::now();
  while (true) {
    auto sent = link.SendOnce();
    Check(sent, "send");
    if (*sent == 0) break;
    d.messages += *sent;
  }
  d.seconds = Since(start);
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"borderflow link benchmark: signed messages per second between two nodes"};
  int messages = 4000;
  app.add_option("--messages", messages, "pre-arrival notices to send")
      ->check(CLI::Range(1, 200000));
  CLI11_PARSE(app, argc, argv);

  SystemClock clock;
  SystemRandom random;
  fs::path root = fs::temp_directory_path() / fmt::format("bf-link-bench-{}", getpid());
  fs::remove_all(root);

  // The crypto floor: sign and verify alone, the same envelopes.
  NodeKey key = GenerateNodeKey(clock.Now());
  PeerKeyRing ring;
  Check(ring.Add(PinnedKey{key.key_id, key.public_key, std::nullopt, std::nullopt}), "ring");
  Envelope e;
  e.from = "vn-huu-nghi";
  e.to = "cn-youyiguan";
  e.type = MessageType::kReceipt;
  e.stream = "crossing:CR-1R3JYP2AZ1VXS7";
  e.sent_at = clock.Now();
  e.payload = Encode(Receipt{"CR-1R3JYP2AZ1VXS7", clock.Now()});
  Steady::time_point crypto_start = Steady::now();
  int crypto_n = 20000;
  for (int i = 1; i <= crypto_n; ++i) {
    e.seq = i;
    e.id = MessageId(e.from, e.stream, e.seq);
    SignedMessage m = Sign(e, key);
    auto opened = VerifyAndOpen(m, ring, VerifyOptions{e.from, e.to, clock.Now()});
    Check(opened, "verify");
  }
  double crypto_rate = crypto_n / Since(crypto_start);

  std::cout << fmt::format(
      "link benchmark: {} pre-arrival notices, Huu Nghi -> Youyiguan, "
      "HTTPS on loopback, SQLite (durable) on both sides\n",
      messages);
  std::cout << fmt::format("  sign + verify alone          {:>10.0f} messages/s\n", crypto_rate);
  std::vector<std::pair<int, double>> rates;
  for (int batch : {256, 16}) {
    Pair pair = StartPair(root / fmt::format("batch-{}", batch), batch, clock, random);
    Steady::time_point fill = Steady::now();
    FillOutbox(pair.vn->engine(), messages);
    double fill_s = Since(fill);
    Drained d = Drain(*pair.vn->link());
    if (d.messages != messages) {
      std::cerr << "sent " << d.messages << " of " << messages << "\n";
      return 1;
    }
    double rate = d.messages / d.seconds;
    rates.emplace_back(batch, rate);
    std::cout << fmt::format(
        "  end to end, batch {:>3}        {:>10.0f} messages/s  ({} in {:.2f} s; outbox filled "
        "in {:.2f} s)\n",
        batch, rate, d.messages, d.seconds, fill_s);
    pair.vn->Stop();
    pair.cn->Stop();
  }
  std::cout << fmt::format("  ratio end to end (batch 256) / crypto alone: {:.3f}\n",
                           rates[0].second / crypto_rate);
  std::cout << fmt::format("  ratio batch 256 / batch 16: {:.2f}\n",
                           rates[0].second / rates[1].second);
  fs::remove_all(root);
  return 0;
}
