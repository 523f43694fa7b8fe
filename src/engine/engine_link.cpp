// The engine's side of the cross-border link (issue 5): the transactional outbox and the inbox.
//
// Outbox: a change of a crossing that the counterpart must learn of (assessed: the pre-arrival
// notice; inspected, released, crossed, cancelled; its driver edited after the notice; received
// from the counterpart: the receipt)
// appends a message to the outbox in the same transaction as the change, so a committed change
// always has its message and a rolled-back one never does. Messages are numbered per stream
// (one stream per crossing, one for capacity) and kept in global order until acknowledged. The
// sender (src/peer) signs and sends them; nothing here does I/O.
//
// Inbox: ApplyPeerMessage takes effect once (its idempotency key is the message id) and in order
// per stream (the last applied number per stream is kept beside the effect). A message the
// sender gives up on is replaced in its outbox by a skip notice for its stream and number, which
// the receiver takes in the stream's order and which only consumes the number.

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/engine.h>
#include <borderflow/link/messages.h>

#include "engine_internal.h"
#include "queue_book.h"

// A capacity announcement names every lane class of a direction: the configuration's bound on
// them keeps every announcement within what a counterpart's decoder takes.
static_assert(borderflow::kMaxLaneClasses <= borderflow::kMaxCapacityEntries);

namespace borderflow {

namespace json = boost::json;

namespace {

// Record kinds (the records table) of the link.
constexpr std::string_view kOutboxRecord = "peer_outbox";         // id: 20-digit global number
constexpr std::string_view kStreamOutRecord = "peer_stream_out";  // id: stream; {"seq"}
constexpr std::string_view kStreamInRecord = "peer_stream_in";    // id: stream; {"seq"}
constexpr std::string_view kCapacityStream = "capacity";  // the capacity announcements' stream
constexpr std::string_view kLinkRecord = "peer_link";     // counters and state
constexpr std::string_view kAcceptanceRecord = "peer_acceptance";  // id: direction|lane class
// What the control room must act on (LinkAlerts): a counterpart's finding on a crossing already
// closed here, or a message to the counterpart that could not be delivered; id: its audit
// sequence number.
constexpr std::string_view kAlertRecord = "peer_alert";

std::string CrossingStream(std::string_view crossing_id) {
  return fmt::format("crossing:{}", crossing_id);
}

Result<int64_t> SeqOf(const std::optional<StoredRecord>& record) {
  if (!record) return int64_t{0};
  BF_ASSIGN_OR_RETURN(json::value v, ParseJson(record->body));
  const json::value* seq = v.is_object() ? v.as_object().if_contains("seq") : nullptr;
  if (seq == nullptr || !seq->is_int64()) {
    return Internal(fmt::format("link record {}/{} is corrupt", record->kind, record->id));
  }
  return seq->as_int64();
}

bool IsOutbound(const GateConfig& config, const Crossing& c) {
  if (!c.announced_by.empty()) return false;
  const Direction* d = config.FindDirection(c.declaration.direction);
  return d != nullptr && d->from_country == config.self.country;
}

std::string SealState(const Crossing& c) { return c.findings.seal; }

// The stream a message must travel on: its crossing's (every message about one crossing), or
// "capacity". Errors: "wrong_stream".
Status CheckStream(const ApplyPeerMessage& cmd) {
  std::string expected;
  if (cmd.type == MessageTypeName(MessageType::kCapacityAnnouncement)) {
    expected = kCapacityStream;
  } else {
    const json::value* id = cmd.payload.if_contains("crossing_id");
    if (id == nullptr || !id->is_string()) {
      return InvalidArgument("wrong_stream", fmt::format("a {} names no crossing", cmd.type));
    }
    expected = CrossingStream(id->get_string());
  }
  if (cmd.stream != expected) {
    return InvalidArgument("wrong_stream", fmt::format("a {} travels on stream {}, not on {}",
                                                       cmd.type, expected, cmd.stream));
  }
  return {};
}

// The stream of a message refused before its effect (its payload may name no crossing): a
// crossing's stream or "capacity", else "wrong_stream".
Status CheckRefusedStream(const ApplyPeerMessage& cmd) {
  std::string_view stream = cmd.stream;
  constexpr std::string_view kCrossingPrefix = "crossing:";
  if (stream == kCapacityStream ||
      (stream.starts_with(kCrossingPrefix) && stream.size() > kCrossingPrefix.size())) {
    return {};
  }
  return InvalidArgument("wrong_stream",
                         fmt::format("stream {} belongs to no crossing", cmd.stream));
}

// An error of a message's effect, as the acknowledgement and the audit trail show it.
json::object Refusal(const Error& e) {
  return json::object{{"status", "rejected"}, {"code", e.code}, {"message", e.message}};
}

}  // namespace

// --- Outbox ----------------------------------------------------------------------------------

Status Engine::Enqueue(WriteTxn& txn, std::string_view type, const std::string& stream,
                       json::object payload, Timestamp now) {
  BF_ASSIGN_OR_RETURN(auto stream_record, txn.GetRecord(kStreamOutRecord, stream));
  BF_ASSIGN_OR_RETURN(int64_t stream_seq, SeqOf(stream_record));
  BF_ASSIGN_OR_RETURN(auto counter, txn.GetRecord(kLinkRecord, "outbox_seq"));
  BF_ASSIGN_OR_RETURN(int64_t outbox_seq, SeqOf(counter));
  ++stream_seq;
  ++outbox_seq;
  BF_TRY(PutRecord(txn, kStreamOutRecord, stream, json::object{{"seq", stream_seq}}, now));
  BF_TRY(PutRecord(txn, kLinkRecord, "outbox_seq", json::object{{"seq", outbox_seq}}, now));
  json::object message{{"type", type},
                       {"stream", stream},
                       {"seq", stream_seq},
                       {"created_at", FormatUtc(now)},
                       {"payload", std::move(payload)}};
  return PutRecord(txn, kOutboxRecord, fmt::format("{:020d}", outbox_seq), message, now);
}

Status Engine::EmitPeerMessages(WriteTxn& txn, const Crossing& current, const Crossing& next,
                                std::string_view action, Timestamp now) {
  if (!config_.link.enabled) return {};
  const std::string stream = CrossingStream(next.id);
  if (!next.announced_by.empty()) {
    // Inbound: the counterpart learns that we received the truck it handed over.
    if (action == "hand_over") {
      return Enqueue(txn, MessageTypeName(MessageType::kReceipt), stream,
                     Encode(Receipt{next.id, now}), now);
    }
    return {};
  }
  if (!IsOutbound(config_, next)) return {};
  const Declaration& d = next.declaration;
  if (action == "assess") {
    PreArrival notice;
    notice.crossing_id = next.id;
    notice.company_id = next.company_id;
    notice.direction = d.direction;
    notice.lane_class = d.lane_class;
    notice.declaration = EncodeDeclaration(d);
    notice.channel = ChannelName(next.channel);
    notice.quarantine_inspection = next.quarantine_inspection;
    notice.declaration_valid_until = next.declaration_valid_until;
    notice.freshness_deadline = d.freshness_deadline;
    return Enqueue(txn, MessageTypeName(MessageType::kPreArrival), stream, Encode(notice), now);
  }
  if (action == "record_inspection" || action == "check_documents") {
    BF_ASSERT(next.last_check.has_value(), "a check records its result");
    InspectionResult r;
    r.crossing_id = next.id;
    r.kind = next.last_check->kind;
    r.outcome = next.last_check->outcome;
    r.channel = ChannelName(next.channel);
    r.quarantine_inspection = next.quarantine_inspection;
    r.seal_number = d.vehicle.seal_number.value_or("");
    r.seal_state = SealState(next);
    r.note = next.last_check->note;
    r.at = now;
    if (r.outcome == "finding") r.finding_type = "finding";
    return Enqueue(txn, MessageTypeName(MessageType::kInspectionResult), stream, Encode(r), now);
  }
  if (action == "release") {
    return Enqueue(txn, MessageTypeName(MessageType::kReleaseNotice), stream,
                   Encode(ReleaseNotice{next.id, now, std::string(ChannelName(next.channel))}),
                   now);
  }
  if (action == "cross") {
    return Enqueue(
        txn, MessageTypeName(MessageType::kHandover), stream,
        Encode(Handover{next.id, now, d.vehicle.seal_number.value_or(""), SealState(next)}), now);
  }
  if (action == "edit_driver" && current.state != CrossingState::kDeclared) {
    // After the pre-arrival notice: the counterpart's border guard checks the actual driver.
    const Driver& driver = d.driver;
    return Enqueue(txn, MessageTypeName(MessageType::kDriverChange), stream,
                   Encode(DriverChange{next.id, driver.name, driver.document_number,
                                       driver.nationality, driver.phone, now}),
                   now);
  }
  if (action == "cancel" && current.state != CrossingState::kDeclared) {
    // A crossing cancelled before its assessment was never announced.
    return Enqueue(
        txn, MessageTypeName(MessageType::kCancellation), stream,
        Encode(Cancellation{next.id,
                            next.refusal_reason.empty() ? "cancelled" : next.refusal_reason, now}),
        now);
  }
  return {};
}

Status Engine::ApplyPeerAck(WriteTxn& txn, const Actor& actor, const AckPeerMessages& cmd,
                            Timestamp now, CommandResult& result) {
  if (actor.role != Role::kSystem) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "only the link's sender acknowledges outbox messages");
  }
  for (const std::string& id : cmd.delivered) BF_TRY(txn.DeleteRecord(kOutboxRecord, id));
  for (const auto& dead : cmd.dead) {
    json::object body{
        {"message_id", dead.message_id}, {"code", dead.code}, {"message", dead.message}};
    // The counterpart may not have been able to open the message at all (its signature or its
    // envelope refused): then it never learnt the message's number, and its stream would wait
    // for it forever. A signed skip notice takes the message's place in the outbox (same
    // outbox number, so the same place in the global order; same stream and seq): the
    // counterpart consumes the number when it is its turn, and answers a notice for a number
    // it consumed already (it opened and refused the message) as a duplicate. A notice given
    // up on in turn only leaves the outbox.
    BF_ASSIGN_OR_RETURN(auto stored, txn.GetRecord(kOutboxRecord, dead.outbox_id));
    std::optional<json::object> notice;
    std::string skipped_type;
    if (stored) {
      BF_ASSIGN_OR_RETURN(json::value v, ParseJson(stored->body));
      const json::object* o = v.if_object();
      const json::value* type = o != nullptr ? o->if_contains("type") : nullptr;
      const json::value* stream = o != nullptr ? o->if_contains("stream") : nullptr;
      const json::value* seq = o != nullptr ? o->if_contains("seq") : nullptr;
      if (type == nullptr || !type->is_string() || stream == nullptr || !stream->is_string() ||
          seq == nullptr || !seq->is_int64()) {
        return Internal(fmt::format("outbox record {} is corrupt", dead.outbox_id));
      }
      body["stream"] = *stream;
      body["seq"] = *seq;
      body["type"] = *type;
      skipped_type = std::string(type->get_string());
      if (type->get_string() != MessageTypeName(MessageType::kSkipNotice)) {
        SkipNotice skip{seq->as_int64(), std::string(type->get_string()),
                        dead.code.empty() ? std::string("refused") : dead.code.substr(0, 64),
                        dead.message.substr(0, 1000), now};
        notice = json::object{{"type", MessageTypeName(MessageType::kSkipNotice)},
                              {"stream", *stream},
                              {"seq", *seq},
                              {"created_at", FormatUtc(now)},
                              {"payload", Encode(skip)}};
      }
    }
    if (notice) {
      BF_TRY(PutRecord(txn, kOutboxRecord, dead.outbox_id, *notice, now));
    } else {
      BF_TRY(txn.DeleteRecord(kOutboxRecord, dead.outbox_id));
    }
    body["skip_notice"] = notice.has_value();
    if (dead.undeliverable && stored) {
      body["alert"] =
          "a message to the counterpart could not be delivered and was skipped: tell the "
          "counterpart what it said by other means";
    }
    BF_ASSIGN_OR_RETURN(AuditRecord record,
                        txn.AppendAudit(Draft(actor, now, "peer", config_.counterpart.node_id,
                                              "peer_message_dead", body)));
    if (body.contains("alert")) {
      // Nothing else would show it: the counterpart never learns what the message said (a
      // pre-arrival notice, a finding...), so the control room lists it among the link's alerts
      // (LinkAlerts) and the live feed's event of this record carries the alert.
      json::object alert{{"type", "undeliverable_message"},
                         {"message_id", dead.message_id},
                         {"message_type", skipped_type},
                         {"stream", body["stream"]},
                         {"seq", body["seq"]},
                         {"code", dead.code},
                         {"note", dead.message.substr(0, 1000)},
                         {"audit_seq", record.seq},
                         {"at", FormatUtc(now)},
                         {"alert", body["alert"]}};
      constexpr std::string_view kCrossingPrefix = "crossing:";
      const json::value& stream = body["stream"];
      if (stream.is_string() && stream.get_string().starts_with(kCrossingPrefix)) {
        std::string crossing_id(stream.get_string().subview(kCrossingPrefix.size()));
        alert["crossing_id"] = crossing_id;
        BF_ASSIGN_OR_RETURN(SharedCrossing c, LoadCrossing(txn, crossing_id));
        if (c) {
          alert["plate"] = c->declaration.vehicle.plate.display;
          alert["state"] = CrossingStateName(c->state);
        }
      }
      BF_TRY(PutRecord(txn, kAlertRecord, fmt::format("{:020d}", record.seq), alert, now));
    }
    result.records.push_back(std::move(record));
  }
  result.status = 200;
  result.body = json::object{{"delivered", cmd.delivered.size()}, {"dead", cmd.dead.size()}};
  return {};
}

Status Engine::ApplyPeerRejection(WriteTxn& txn, const Actor& actor, const RecordPeerRejection& cmd,
                                  Timestamp now, CommandResult& result) {
  if (actor.role != Role::kSystem) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "only the link records refused messages");
  }
  json::object body{{"code", cmd.code},
                    {"message", cmd.message.substr(0, 1000)},
                    {"key_id", cmd.key_id.substr(0, 128)},
                    {"message_id", cmd.message_id.substr(0, 256)},
                    {"digest", cmd.digest}};
  BF_ASSIGN_OR_RETURN(AuditRecord record,
                      txn.AppendAudit(Draft(actor, now, "peer", config_.counterpart.node_id,
                                            "peer_message_rejected", body)));
  result.records.push_back(std::move(record));
  result.status = 200;
  result.body = std::move(body);
  return {};
}

// --- Inbox -----------------------------------------------------------------------------------

Status Engine::ApplyPeer(WriteTxn& txn, const Actor& actor, const ApplyPeerMessage& cmd,
                         Timestamp now, CommandResult& result) {
  if (actor.role != Role::kCounterpart) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "peer messages come from the counterpart only");
  }
  if (!config_.link.enabled) {
    return Error(ErrorKind::kUnavailable, "link_disabled", "this node has no [link]");
  }
  json::object audit{{"id", cmd.id},
                     {"type", cmd.type},
                     {"stream", cmd.stream},
                     {"seq", cmd.seq},
                     {"key_id", cmd.key_id},
                     {"digest", cmd.digest},
                     {"sent_at", FormatUtc(cmd.sent_at)}};
  // The message's audit record, with its outcome, and the answer the counterpart is told.
  auto answer = [&](json::object outcome) -> Status {
    for (const auto& kv : outcome) audit[kv.key()] = kv.value();
    BF_ASSIGN_OR_RETURN(AuditRecord record,
                        txn.AppendAudit(Draft(actor, now, "peer", config_.counterpart.node_id,
                                              "peer_message", audit)));
    result.records.push_back(std::move(record));
    result.status = 200;
    outcome["id"] = cmd.id;
    result.body = std::move(outcome);
    return {};
  };
  const bool refused = !cmd.refused_code.empty();
  if (!refused && cmd.type == MessageTypeName(MessageType::kSkipNotice)) {
    // The sender gave up on the message with this number (ApplyPeerAck): the number is
    // consumed in its turn, like a message refused for good, so the stream moves on.
    if (Status bound = CheckRefusedStream(cmd); !bound) return answer(Refusal(bound.error()));
    BF_ASSIGN_OR_RETURN(SkipNotice m, DecodeSkipNotice(cmd.payload));
    if (m.seq != cmd.seq) {
      return answer(Refusal(InvalidArgument(
          "invalid_value",
          fmt::format("'payload.seq' ({}) must be the notice's own seq ({})", m.seq, cmd.seq))));
    }
    BF_ASSIGN_OR_RETURN(auto stream_record, txn.GetRecord(kStreamInRecord, cmd.stream));
    BF_ASSIGN_OR_RETURN(int64_t last, SeqOf(stream_record));
    if (cmd.seq <= last) {
      // Consumed already: the message was opened here and applied or refused for good (its
      // record is in the trail). Nothing changes, nothing is recorded.
      result.status = 200;
      result.body = json::object{{"id", cmd.id}, {"status", "duplicate"}};
      return {};
    }
    if (cmd.seq != last + 1) {
      return Conflict("sequence_gap", fmt::format("stream {} expects message {} next, not {}",
                                                  cmd.stream, last + 1, cmd.seq));
    }
    BF_TRY(PutRecord(txn, kStreamInRecord, cmd.stream, json::object{{"seq", cmd.seq}}, now));
    audit["skipped"] = true;
    audit["skipped_type"] = m.skipped_type;
    audit["skipped_code"] = m.code;
    audit["skipped_message"] = m.message;
    audit["given_up_at"] = FormatUtc(m.given_up_at);
    return answer(json::object{{"status", "applied"}});
  }
  if (Status bound = refused ? CheckRefusedStream(cmd) : CheckStream(cmd); !bound) {
    // A message on a stream that is not its own (a handover for crossing X on stream Y) is
    // refused and audited like any refused effect, but its stream is not recorded: only
    // streams that belong to a crossing or to capacity become permanent records. Its id's
    // idempotency record answers a resend.
    return answer(Refusal(bound.error()));
  }
  BF_ASSIGN_OR_RETURN(auto stream_record, txn.GetRecord(kStreamInRecord, cmd.stream));
  BF_ASSIGN_OR_RETURN(int64_t last, SeqOf(stream_record));
  if (cmd.seq <= last) {
    // Every number a message consumed has that message's idempotency record (its id is
    // from/stream/seq), which answers a resend before the engine gets here. A consumed number
    // without one was given up by the sender (a skip notice consumed it): this message comes
    // after its number was skipped and is not applied.
    return answer(Refusal(Error(ErrorKind::kConflict, "sequence_skipped",
                                fmt::format("message {} of stream {} was given up by the "
                                            "sender and skipped",
                                            cmd.seq, cmd.stream))));
  }
  if (cmd.seq != last + 1) {
    return Conflict("sequence_gap", fmt::format("stream {} expects message {} next, not {}",
                                                cmd.stream, last + 1, cmd.seq));
  }
  if (refused) {
    // Refused for good by the link (its payload is invalid, say): its number is consumed, so
    // that the messages after it on its stream are not refused as a gap forever; the refusal
    // is in the trail and answers a resend.
    BF_TRY(PutRecord(txn, kStreamInRecord, cmd.stream, json::object{{"seq", cmd.seq}}, now));
    audit["skipped"] = true;
    return answer(json::object{
        {"status", "rejected"}, {"code", cmd.refused_code}, {"message", cmd.refused_message}});
  }
  // The effect runs against a copy of the result: a refused effect leaves no change behind
  // (effects check before they write), and its refusal is what the counterpart is told.
  CommandResult effect;
  Status applied = ApplyPeerEffect(txn, actor, cmd, now, effect);
  json::object outcome = applied ? json::object{{"status", "applied"}} : Refusal(applied.error());
  if (!applied && (!effect.changed.empty() || !effect.records.empty())) {
    // A refusal after a write would leave half an effect: fail the whole message instead, so
    // it is retried (and visible as the link's last error) rather than half applied.
    return applied;
  }
  BF_TRY(PutRecord(txn, kStreamInRecord, cmd.stream, json::object{{"seq", cmd.seq}}, now));
  result.records = std::move(effect.records);  // the effect's records come first
  result.changed = std::move(effect.changed);
  return answer(std::move(outcome));
}

Status Engine::ApplyPeerEffect(WriteTxn& txn, const Actor& actor, const ApplyPeerMessage& cmd,
                               Timestamp now, CommandResult& result) {
  BF_ASSIGN_OR_RETURN(MessageType type, ParseMessageType(cmd.type));
  // Loads a crossing the message is about: inbound ones announced by the counterpart, or our
  // outbound ones (receipts).
  auto load = [&](const std::string& id, bool inbound) -> Result<Crossing> {
    BF_ASSIGN_OR_RETURN(SharedCrossing c, LoadCrossing(txn, id));
    bool ours =
        c && (inbound ? c->announced_by == config_.counterpart.node_id : IsOutbound(config_, *c));
    if (!ours) {
      return NotFound("crossing_not_found", fmt::format("no {} crossing {} here",
                                                        inbound ? "announced" : "outbound", id));
    }
    return *c;
  };
  auto event = [&](const Crossing& c, CrossingEventType t, json::object data) -> Status {
    BF_TRY(Transition(txn, actor, c, CrossingEvent{t, std::move(data)}, now, result));
    return {};
  };

  switch (type) {
    case MessageType::kPreArrival: {
      BF_ASSIGN_OR_RETURN(PreArrival m, DecodePreArrival(cmd.payload));
      if (cmd.stream != CrossingStream(m.crossing_id)) {
        return InvalidArgument("wrong_stream", "a crossing's messages travel on its own stream");
      }
      BF_ASSIGN_OR_RETURN(Declaration d, DecodeDeclaration(json::value(m.declaration), *hs_));
      const Direction* direction = config_.FindDirection(d.direction);
      if (direction == nullptr || direction->to_country != config_.self.country) {
        return InvalidArgument("not_inbound", fmt::format("direction {} does not come into {}",
                                                          d.direction, config_.self.country));
      }
      if (config_.FindLaneClass(d.lane_class) == nullptr) {
        return InvalidArgument("unknown_lane_class",
                               fmt::format("lane class {} is not configured here", d.lane_class));
      }
      BF_ASSIGN_OR_RETURN(SharedCrossing existing, LoadCrossing(txn, m.crossing_id));
      if (existing) {
        return Conflict("crossing_exists", fmt::format("crossing {} exists", m.crossing_id));
      }
      Crossing c;
      c.id = m.crossing_id;
      // The counterpart's company ids are its own: a company here with the same id is another
      // company. Inbound crossings belong to "<counterpart node>:<its company id>", which a
      // forwarder here sees only when an administrator gives it that company on purpose.
      c.company_id = m.company_id.empty() ? "" : config_.counterpart.node_id + ":" + m.company_id;
      c.declared_by = actor.user_id;
      c.announced_by = config_.counterpart.node_id;
      c.declaration = std::move(d);
      c.declaration_valid_until = m.declaration_valid_until;
      c.state = CrossingState::kExpected;
      c.version = 1;
      c.created_at = now;
      c.updated_at = now;
      json::object view = CrossingView(c);
      std::string document = ToJsonText(view);
      auto announced = std::make_shared<const Crossing>(std::move(c));
      BF_TRY(txn.InsertSharedCrossing(announced, document));
      json::object body{{"message_id", cmd.id},
                        {"counterpart_channel", m.channel},
                        {"counterpart_quarantine_inspection", m.quarantine_inspection},
                        {"crossing", std::move(view)}};
      BF_ASSIGN_OR_RETURN(
          AuditRecord record,
          txn.AppendAudit(Draft(actor, now, "crossing", announced->id, "announce", body)));
      result.records.push_back(std::move(record));
      BF_ASSERT(SetBatchCrossing(announced) == nullptr,
                "an announced crossing is new to its batch (checked above)");
      batch_undo_.emplace_back(announced, nullptr);
      result.changed.push_back(std::move(announced));
      return {};
    }
    case MessageType::kInspectionResult: {
      BF_ASSIGN_OR_RETURN(InspectionResult m, DecodeInspectionResult(cmd.payload));
      BF_ASSIGN_OR_RETURN(Crossing c, load(m.crossing_id, true));
      if (c.state != CrossingState::kExpected) {
        // The truck was taken over before the result arrived (handed over by hand during an
        // outage, say). The result is still recorded, never refused: a clean one is no longer
        // recognised (recognition happens at the handover), but a finding stands as the last
        // check of a crossing still at our gate (release is refused until we inspect) and is
        // recorded on it, for the control room and the audit trail, whatever its state.
        bool finding = m.outcome == "finding" || m.outcome == "discrepancy";
        json::object body{{"message_id", cmd.id},
                          {"recognition", finding ? "counterpart_finding_after_handover"
                                                  : "after_handover_not_recognised"},
                          {"state", CrossingStateName(c.state)},
                          {"result", cmd.payload}};
        if (finding && !IsTerminal(c.state)) {
          Crossing next = c;
          next.last_check = CheckResult{"counterpart_" + m.kind, m.outcome,
                                        fmt::format("{}: {}", config_.counterpart.node_id, m.note),
                                        actor.user_name, now};
          next.version = c.version + 1;
          next.updated_at = now;
          body["version"] = next.version;
          BF_TRY(WriteChange(txn, actor, c, std::move(next), "counterpart_inspection_result", body,
                             now, result));
          return {};
        }
        if (finding) body["alert"] = "the crossing is closed: check the truck's whereabouts";
        BF_ASSIGN_OR_RETURN(AuditRecord record,
                            txn.AppendAudit(Draft(actor, now, "crossing", c.id,
                                                  "counterpart_inspection_result", body)));
        if (finding) {
          // Nothing of the crossing changes, so nothing else would show it: the control room
          // lists it among its alerts (LinkAlerts, in GET /api/v1/link) and the live feed's
          // event of this record carries the alert (staff only).
          json::object alert{{"type", "counterpart_finding"},
                             {"crossing_id", c.id},
                             {"plate", c.declaration.vehicle.plate.display},
                             {"state", CrossingStateName(c.state)},
                             {"kind", m.kind},
                             {"outcome", m.outcome},
                             {"finding_type", m.finding_type},
                             {"note", m.note},
                             {"message_id", cmd.id},
                             {"audit_seq", record.seq},
                             {"at", FormatUtc(now)},
                             {"alert", body["alert"]}};
          BF_TRY(PutRecord(txn, kAlertRecord, fmt::format("{:020d}", record.seq), alert, now));
        }
        result.records.push_back(std::move(record));
        return {};
      }
      // Recognition policy: a clean inspection with the declared seal intact is recognised.
      const std::string& declared_seal = c.declaration.vehicle.seal_number.value_or("");
      bool clean = m.kind == "inspection" && m.outcome == "no_finding";
      bool recognised = config_.link.recognise_inspections == "clean_and_seal_intact" && clean &&
                        m.seal_state == "intact" && !m.seal_number.empty() &&
                        m.seal_number == declared_seal;
      Crossing next = c;
      std::string why;
      if (recognised) {
        next.last_check = CheckResult{"recognised_inspection", "no_finding",
                                      fmt::format("{} inspection recognised (seal {} intact)",
                                                  config_.counterpart.node_id, m.seal_number),
                                      actor.user_name, now};
        why = "recognised";
      } else if (m.outcome == "finding" || m.outcome == "discrepancy") {
        // Their finding stands until we inspect: release is refused until then.
        next.last_check = CheckResult{"counterpart_" + m.kind, m.outcome,
                                      fmt::format("{}: {}", config_.counterpart.node_id, m.note),
                                      actor.user_name, now};
        why = "counterpart_finding";
      } else {
        // Not recognised (policy, documents only, no seal or another seal): we check again,
        // and an earlier recognition no longer holds.
        if (c.last_check && c.last_check->kind == "recognised_inspection") {
          next.last_check.reset();
        }
        why = config_.link.recognise_inspections == "never" ? "policy_never"
              : !clean                                      ? "not_an_inspection_without_finding"
                                                            : "seal_not_intact_or_different";
      }
      next.version = c.version + 1;
      next.updated_at = now;
      json::object body{{"message_id", cmd.id},
                        {"recognition", why},
                        {"result", cmd.payload},
                        {"version", next.version}};
      BF_TRY(WriteChange(txn, actor, c, std::move(next), "counterpart_inspection_result", body, now,
                         result));
      return {};
    }
    case MessageType::kReleaseNotice: {
      BF_ASSIGN_OR_RETURN(ReleaseNotice m, DecodeReleaseNotice(cmd.payload));
      BF_ASSIGN_OR_RETURN(Crossing c, load(m.crossing_id, true));
      json::object body{{"message_id", cmd.id},
                        {"released_at", FormatUtc(m.released_at)},
                        {"counterpart_channel", m.channel}};
      BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(actor, now, "crossing", c.id,
                                                                    "counterpart_released", body)));
      result.records.push_back(std::move(record));
      return {};
    }
    case MessageType::kHandover: {
      BF_ASSIGN_OR_RETURN(Handover m, DecodeHandover(cmd.payload));
      BF_ASSIGN_OR_RETURN(Crossing c, load(m.crossing_id, true));
      json::object data{{"note", fmt::format("handed over by {} at {}", config_.counterpart.node_id,
                                             FormatUtc(m.crossed_at))}};
      if (c.last_check && c.last_check->kind == "recognised_inspection" &&
          (m.seal_state != "intact" || m.seal_number != c.declaration.vehicle.seal_number)) {
        // The recognition held for the seal as inspected; the truck came with another one.
        Crossing unrecognised = c;
        unrecognised.last_check.reset();
        unrecognised.version = c.version + 1;
        unrecognised.updated_at = now;
        BF_TRY(WriteChange(txn, actor, c, Crossing(unrecognised), "recognition_withdrawn",
                           json::object{{"message_id", cmd.id},
                                        {"seal_number", m.seal_number},
                                        {"seal_state", m.seal_state},
                                        {"version", unrecognised.version}},
                           now, result));
        c = unrecognised;
      }
      return event(c, CrossingEventType::kHandOver, std::move(data));
    }
    case MessageType::kReceipt: {
      BF_ASSIGN_OR_RETURN(Receipt m, DecodeReceipt(cmd.payload));
      BF_ASSIGN_OR_RETURN(Crossing c, load(m.crossing_id, false));
      return event(
          c, CrossingEventType::kConfirmReceipt,
          json::object{{"note", fmt::format("received by {} at {}", config_.counterpart.node_id,
                                            FormatUtc(m.received_at))}});
    }
    case MessageType::kCancellation: {
      BF_ASSIGN_OR_RETURN(Cancellation m, DecodeCancellation(cmd.payload));
      BF_ASSIGN_OR_RETURN(Crossing c, load(m.crossing_id, true));
      return event(c, CrossingEventType::kCancel, json::object{{"reason", m.reason}});
    }
    case MessageType::kCapacityAnnouncement: {
      BF_ASSIGN_OR_RETURN(CapacityAnnouncement m, DecodeCapacityAnnouncement(cmd.payload));
      const Direction* direction = config_.FindDirection(m.direction);
      if (direction == nullptr || direction->to_country != config_.counterpart.country) {
        return InvalidArgument("not_outbound",
                               fmt::format("direction {} does not go to {}", m.direction,
                                           config_.counterpart.country));
      }
      // Only hours whose announced acceptance changed become capacity changes (consecutive
      // hours with the same value in one change), so an hourly announcement of a steady
      // plan adds one change per lane class for the new hour at most.
      std::vector<CapacityChange> changes;
      std::vector<std::pair<std::string, json::object>> records;
      for (const auto& entry : m.entries) {
        if (config_.FindLaneClass(entry.lane_class) == nullptr) continue;  // not ours: ignored
        std::string key = fmt::format("{}|{}", m.direction, entry.lane_class);
        BF_ASSIGN_OR_RETURN(auto stored, txn.GetRecord(kAcceptanceRecord, key));
        json::object known;
        if (stored) {
          BF_ASSIGN_OR_RETURN(json::value v, ParseJson(stored->body));
          if (v.is_object()) known = std::move(v.as_object());
        }
        json::object kept;  // the last two days of what is known, updated
        for (const auto& kv : known) {
          auto at = ParseTimestamp(kv.key());
          if (at && *at >= now - std::chrono::hours(48)) kept[kv.key()] = kv.value();
        }
        std::optional<CapacityChange> run;
        auto flush = [&] {
          if (run) changes.push_back(*run);
          run.reset();
        };
        for (size_t h = 0; h < entry.trucks_per_hour.size(); ++h) {
          Timestamp from = m.from + std::chrono::hours(h);
          double value = entry.trucks_per_hour[h];
          std::string hour = FormatUtc(from);
          const json::value* before = kept.if_contains(hour);
          bool same = before != nullptr && before->is_number() &&
                      std::abs(before->to_number<double>() - value) < 1e-9;
          kept[hour] = value;
          if (same || from + std::chrono::hours(1) <= now) {
            flush();
            continue;
          }
          if (run && run->until == from && run->trucks_per_hour == value) {
            run->until = from + std::chrono::hours(1);
            continue;
          }
          flush();
          CapacityChange c;
          c.kind = CapacityChangeKind::kAcceptance;
          c.from = from;
          c.until = from + std::chrono::hours(1);
          c.direction = m.direction;
          c.lane_class = entry.lane_class;
          c.trucks_per_hour = value;
          c.reason = fmt::format("announced by {} ({})", config_.counterpart.node_id, cmd.id);
          run = c;
        }
        flush();
        records.emplace_back(key, std::move(kept));
      }
      // Checked before anything is written: a refused announcement leaves nothing behind.
      for (const CapacityChange& change : changes) BF_TRY(ValidateCapacityChange(change, config_));
      for (auto& [key, body] : records) BF_TRY(PutRecord(txn, kAcceptanceRecord, key, body, now));
      for (const CapacityChange& change : changes) {
        BF_TRY(ApplyChangeCapacity(txn, actor, ChangeCapacity{change}, now, result));
      }
      return {};
    }
    case MessageType::kDriverChange: {
      BF_ASSIGN_OR_RETURN(DriverChange m, DecodeDriverChange(cmd.payload));
      BF_ASSIGN_OR_RETURN(Crossing c, load(m.crossing_id, true));
      Driver driver{m.name, m.document_number, m.nationality, m.phone};
      BF_TRY(ValidateDriver(driver));
      Crossing next = c;
      next.declaration.driver = driver;
      next.version = c.version + 1;
      next.updated_at = now;
      json::object body{{"message_id", cmd.id},
                        {"changed_at", FormatUtc(m.changed_at)},
                        {"driver", json::object{{"name", driver.name},
                                                {"document_number", driver.document_number},
                                                {"nationality", driver.nationality},
                                                {"phone", driver.phone}}},
                        {"version", next.version}};
      BF_TRY(WriteChange(txn, actor, c, std::move(next), "counterpart_driver_change", body, now,
                         result));
      return {};
    }
    case MessageType::kSkipNotice:
      break;  // ApplyPeer consumes its number; it has no other effect
    case MessageType::kAck:
      return InvalidArgument("unexpected_ack",
                             "acknowledgements answer requests; they are not "
                             "sent as messages");
  }
  return InvalidArgument("unknown_message_type", cmd.type);
}

// --- Alerts ----------------------------------------------------------------------------------

Result<json::array> Engine::LinkAlerts(Duration within, size_t limit) {
  BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> records, store_.ListRecords(kAlertRecord));
  const Timestamp since = clock_.Now() - within;
  json::array alerts;
  // Newest first (ids are audit sequence numbers, zero-padded).
  std::sort(records.begin(), records.end(),
            [](const StoredRecord& a, const StoredRecord& b) { return a.id > b.id; });
  for (const StoredRecord& r : records) {
    if (alerts.size() >= limit || r.updated_at < since) continue;
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(r.body));
    if (!v.is_object()) continue;
    // Alerts recorded before they had a type were all counterpart findings.
    if (!v.as_object().contains("type")) v.as_object()["type"] = "counterpart_finding";
    alerts.push_back(std::move(v));
  }
  return alerts;
}

// --- Capacity announcements --------------------------------------------------------------------

Status Engine::ApplyAnnounceCapacity(WriteTxn& txn, const Actor& actor, Timestamp now,
                                     CommandResult& result) {
  if (actor.role != Role::kSystem) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "capacity is announced by the link's timer");
  }
  result.status = 200;
  result.body = json::object{{"announced", 0}};
  if (!config_.link.enabled || config_.link.announce_hours == 0) return {};
  std::shared_ptr<const CapacityPlan> plan = queue_->Capacity();
  Timestamp hour = plan->BucketStart(now);
  hour = FromUnixMillis(ToUnixMillis(hour) / 3'600'000 * 3'600'000);
  int announced = 0;
  for (const Direction& d : config_.directions) {
    if (d.to_country != config_.self.country) continue;  // we accept trucks coming in
    CapacityAnnouncement a;
    a.direction = d.id;
    a.from = hour;
    for (const auto& [lane_class, lanes] : d.lanes) {
      (void)lanes;
      CapacityAnnouncement::Entry entry;
      entry.lane_class = lane_class;
      for (int h = 0; h < config_.link.announce_hours; ++h) {
        Timestamp start = hour + std::chrono::hours(h);
        double trucks = 0;
        for (const BucketCapacity& b :
             plan->Range(d.id, lane_class, start, start + std::chrono::hours(1))) {
          trucks += b.self_capacity;
        }
        entry.trucks_per_hour.push_back(trucks);
      }
      a.entries.push_back(std::move(entry));
    }
    if (a.entries.empty()) continue;
    json::object payload = Encode(a);
    // Sent when it differs from the last announcement (a new hour always does).
    std::string key = "announced:" + d.id;
    BF_ASSIGN_OR_RETURN(auto last, txn.GetRecord(kLinkRecord, key));
    std::string text = ToJsonText(payload);
    if (last && last->body == text) continue;
    BF_TRY(txn.PutRecord(StoredRecord{std::string(kLinkRecord), key, text, now}));
    BF_TRY(Enqueue(txn, MessageTypeName(MessageType::kCapacityAnnouncement),
                   std::string(kCapacityStream), std::move(payload), now));
    ++announced;
  }
  result.body = json::object{{"announced", announced}};
  return {};
}

}  // namespace borderflow
