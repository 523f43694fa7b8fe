#pragma once

// TLS material for the HTTP server and client: PEM text, loaded from files or generated
// (self-signed, for the demo and tests). Free of OpenSSL and Beast; src/net/ does the TLS.

#include <string>

#include <borderflow/core/error.h>

namespace borderflow::net {

// Server side of TLS (HttpServer serves HTTPS when ServerOptions::tls is set).
struct TlsServerOptions {
  // The server certificate first, then any intermediates (PEM).
  std::string certificate_chain_pem{};
  // The private key of the first certificate (PEM, unencrypted; PKCS#8 or traditional).
  std::string private_key_pem{};
};

// Reads the chain and key PEM files. Errors: "tls_file_unreadable" (kInvalidArgument) naming
// the file. The content is checked by HttpServer::Start() ("invalid_tls_config").
[[nodiscard]] Result<TlsServerOptions> LoadTlsServerOptions(
    const std::string& certificate_chain_file, const std::string& private_key_file);

struct SelfSignedCertificate {
  std::string certificate_pem{};  // X.509 v3, self-signed
  std::string private_key_pem{};  // PKCS#8, unencrypted
};

// Generates an EC P-256 key and a self-signed certificate (SHA-256) for `common_name`, valid
// from one hour ago for `days` days, with subjectAltName DNS:localhost, IP:127.0.0.1 and the
// common name (as an IP address when it parses as one, else as a DNS name), extended key usage
// serverAuth and clientAuth. Usable as its own trust anchor (HttpClient's ClientOptions::ca_pem).
// Errors: "invalid_argument" for an empty or over-long (> 64 bytes) name or days outside
// 1..36500; "internal" when OpenSSL fails.
[[nodiscard]] Result<SelfSignedCertificate> MakeSelfSignedCertificate(std::string common_name,
                                                                      int days);

// Writes the certificate and the key to two files (the key file with mode 0600, created or
// truncated). Errors: "tls_file_unwritable" (kInternal) naming the file.
[[nodiscard]] Status WritePemFiles(const SelfSignedCertificate& certificate,
                                   const std::string& certificate_file,
                                   const std::string& private_key_file);

}  // namespace borderflow::net
