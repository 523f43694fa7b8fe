#include "node_cli.h"

#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <borderflow/core/clock.h>
#include <borderflow/link/node_key.h>

namespace borderflow::cli {

namespace {

constexpr int kOk = 0;
constexpr int kError = 2;

struct Options {
  std::string out;
  bool force = false;
  std::string key;
};

int Fail(const Error& e) {
  std::cerr << "borderflow: " << e.ToString() << "\n";
  return kError;
}

void PrintIdentity(const NodeKey& key) {
  std::cout << fmt::format("key id      {}\npublic key  {}\n", key.key_id,
                           Base64Encode(key.public_key));
}

int Keygen(const Options& o) {
  SystemClock clock;
  NodeKey key = GenerateNodeKey(clock.Now());
  if (auto written = WriteKeyFile(o.out, key, o.force); !written) return Fail(written.error());
  std::cout << fmt::format("wrote the node key to {} (mode 0600; keep it secret)\n", o.out);
  PrintIdentity(key);
  std::cout << fmt::format("show what the counterpart must pin: borderflow node show --key {}\n",
                           o.out);
  return kOk;
}

int Show(const Options& o) {
  auto key = ReadKeyFile(o.key);
  if (!key) return Fail(key.error());
  PrintIdentity(*key);
  std::cout << fmt::format("created at  {}\n\n", FormatUtc(key->created_at));
  // Only the public half leaves this command.
  std::cout << "For the counterpart's gate configuration:\n\n"
            << fmt::format("[[counterpart.keys]]\nid = \"{}\"\npublic_key = \"{}\"\n", key->key_id,
                           Base64Encode(key->public_key));
  return kOk;
}

}  // namespace

std::function<std::optional<int>()> AddNodeCommands(CLI::App& app) {
  auto options = std::make_shared<Options>();
  auto* node = app.add_subcommand("node", "this node's identity on the cross-border link");
  node->require_subcommand(1);
  auto* keygen = node->add_subcommand(
      "keygen", "create an Ed25519 node key file (mode 0600) and print its id and public key");
  keygen->add_option("--out", options->out, "key file to write")->required();
  keygen->add_flag("--force", options->force, "replace an existing key file");
  auto* show = node->add_subcommand(
      "show", "print a key file's id, public key and the snippet the counterpart pins");
  show->add_option("--key", options->key, "key file")->required();
  return [options, keygen, show]() -> std::optional<int> {
    if (keygen->parsed()) return Keygen(*options);
    if (show->parsed()) return Show(*options);
    return std::nullopt;
  };
}

}  // namespace borderflow::cli
