#!/usr/bin/env python3
"""Generate src/generated/EventSubDefinitions.ts and test/fixtures/eventsub-examples.json
from ../shared/twitch/eventsub-types.json.

Event schemas are inferred from the documented notification examples, corrected by the
hand-written knowledge below (fields the docs describe as nullable/optional, shapes of fields the
examples only show as null). Run: python3 scripts/gen-eventsub-types.py [path/to/eventsub-types.json]
"""
import json, os, re, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "twitch", "eventsub-types.json")
rows = json.load(open(SRC))

# drop.entitlement.grant is webhook-only and batched; the docs' example (not in the JSON) is:
DROP_EXAMPLE = {
  "subscription": {
    "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "type": "drop.entitlement.grant", "version": "1",
    "status": "enabled", "cost": 0,
    "condition": {"organization_id": "9001", "category_id": "9002", "campaign_id": "9003"},
    "transport": {"method": "webhook", "callback": "https://example.com/webhooks/callback"},
    "created_at": "2019-11-16T10:11:12.634234626Z"
  },
  "events": [{
    "id": "bf7c8577-e3e6-47d0-9e9c-9d9b3e3b0f6e",
    "data": {
      "organization_id": "9001", "category_id": "9002", "category_name": "Fortnite", "campaign_id": "9003",
      "user_id": "1234", "user_name": "Cool_User", "user_login": "cool_user",
      "entitlement_id": "fb78259e-fb81-4d1b-8333-34a06ffc24c0", "benefit_id": "74c52265-e214-48a6-91b9-23b6014e8041",
      "created_at": "2019-01-28T04:17:53.325Z"
    }
  }]
}

# Shapes of fields that the examples only show as null (or as an empty array), by field name.
NULL_SHAPES = {
  "cheermote": "ChatCheermote",
  "emote": "ChatEmote",
  "mention": "ChatMention",
  "cheer": "ChatCheer",
  "reply": "ChatReply",
  "channel_points_custom_reward_id": "Schema.String",
  "source_broadcaster_user_id": "Schema.String",
  "source_broadcaster_user_login": "Schema.String",
  "source_broadcaster_user_name": "Schema.String",
  "source_message_id": "Schema.String",
  "source_badges": "Schema.Array(ChatBadge)",
  "power_up": "BitsPowerUp",
  "overall_level": "Schema.Number",
  "follower_mode_duration_minutes": "Schema.Number",
  "unlocked_emote": "RewardEmote",
  "cooldown_expires_at": "Schema.String",
  "redemptions_redeemed_current_stream": "Schema.Number",
  "channel_points_won": "Schema.Number",
  "chat_rules_cited": "Schema.Array(Schema.String)",
  "shared_train_participants": "Schema.Array(HypeTrainParticipant)",
  "automod": "AutomodReason",
  "blocked_term": "BlockedTermReason",
  # channel.chat.notification
  "sub": "NoticeSub", "resub": "NoticeResub", "sub_gift": "NoticeSubGift", "community_sub_gift": "NoticeCommunitySubGift",
  "gift_paid_upgrade": "NoticeGiftPaidUpgrade", "prime_paid_upgrade": "NoticePrimePaidUpgrade",
  "pay_it_forward": "NoticePayItForward", "raid": "NoticeRaid", "unraid": "NoticeUnraid",
  "announcement": "NoticeAnnouncement", "bits_badge_tier": "NoticeBitsBadgeTier", "charity_donation": "NoticeCharityDonation",
  "shared_chat_sub": "NoticeSub", "shared_chat_resub": "NoticeResub", "shared_chat_sub_gift": "NoticeSubGift",
  "shared_chat_community_sub_gift": "NoticeCommunitySubGift", "shared_chat_gift_paid_upgrade": "NoticeGiftPaidUpgrade",
  "shared_chat_prime_paid_upgrade": "NoticePrimePaidUpgrade", "shared_chat_pay_it_forward": "NoticePayItForward",
  "shared_chat_raid": "NoticeRaid", "shared_chat_announcement": "NoticeAnnouncement",
  "gifter_is_anonymous": "Schema.Boolean", "gifter_user_id": "Schema.String", "gifter_user_login": "Schema.String",
  "gifter_user_name": "Schema.String", "streak_months": "Schema.Number",
}
# channel.moderate action payloads (only `mod` / `warn` appear in the examples)
MODERATE_NULL_SHAPES = {
  "followers": "ModerateFollowers", "slow": "ModerateSlow", "vip": "ModerateUser", "unvip": "ModerateUser",
  "mod": "ModerateUser", "unmod": "ModerateUser", "ban": "ModerateBan", "unban": "ModerateUser",
  "timeout": "ModerateTimeout", "untimeout": "ModerateUser", "raid": "ModerateRaid", "unraid": "ModerateUser",
  "delete": "ModerateDelete", "automod_terms": "ModerateAutomodTerms", "unban_request": "ModerateUnbanRequest",
  "warn": "ModerateWarn", "shared_chat_ban": "ModerateBan", "shared_chat_unban": "ModerateUser",
  "shared_chat_timeout": "ModerateTimeout", "shared_chat_untimeout": "ModerateUser", "shared_chat_delete": "ModerateDelete",
}
EMPTY_ARRAY_ELEMS = {"badges": "ChatBadge", "fragments": "ChatFragment"}

# Fields the docs describe as nullable although the example shows a value: (type or "*", dotted path).
NULLABLE = {
  ("channel.cheer", "user_id"), ("channel.cheer", "user_login"), ("channel.cheer", "user_name"),
  ("channel.subscription.gift", "user_id"), ("channel.subscription.gift", "user_login"),
  ("channel.subscription.gift", "user_name"), ("channel.subscription.gift", "cumulative_total"),
  ("channel.subscription.message", "streak_months"), ("channel.subscription.message", "duration_months"),
  ("channel.ban", "ends_at"), ("channel.ban", "reason"),
  ("channel.prediction.end", "winning_outcome_id"), ("*", "outcomes[].top_predictors"),
  ("*", "outcomes[].top_predictors[].channel_points_won"),
  ("channel.channel_points_custom_reward.add", "image"), ("channel.channel_points_custom_reward.update", "image"),
  ("channel.channel_points_custom_reward.remove", "image"),
  ("channel.channel_points_custom_reward.update", "cooldown_expires_at"),
  ("channel.channel_points_custom_reward.remove", "cooldown_expires_at"),
  ("channel.channel_points_custom_reward.update", "redemptions_redeemed_current_stream"),
  ("channel.channel_points_custom_reward.remove", "redemptions_redeemed_current_stream"),
  ("channel.bits.use", "message"), ("automod.message.hold", "automod"), ("automod.message.hold", "blocked_term"),
  ("automod.message.update", "automod"), ("automod.message.update", "blocked_term"),
  ("channel.unban_request.resolve", "moderator_user_id"), ("channel.unban_request.resolve", "moderator_user_login"),
  ("channel.unban_request.resolve", "moderator_user_name"), ("channel.unban_request.resolve", "resolution_text"),
  ("channel.warning.send", "reason"), ("channel.chat.notification", "chatter_user_name"),
  ("channel.hype_train.begin", "top_contributions"), ("channel.hype_train.progress", "top_contributions"),
  ("channel.hype_train.end", "top_contributions"),
  ("channel.channel_points_automatic_reward_redemption.add", "message"),
  ("channel.channel_points_automatic_reward_redemption.add", "user_input"),
  ("channel.channel_points_automatic_reward_redemption.add", "reward.emote"),
  ("channel.channel_points_automatic_reward_redemption.add", "reward.channel_points"),
  ("channel.suspicious_user.message", "shared_ban_channel_ids"), ("channel.suspicious_user.update", "shared_ban_channel_ids"),
  ("channel.suspicious_user.message", "types"),
}
# Fields that may be absent (user.update `email` needs user:read:email).
OPTIONAL = {("user.update", "email")}
# Beta types whose fields are mostly nullable: keep every field nullable except the broadcaster ids.
LENIENT_TYPES = {"channel.guest_star_session.begin", "channel.guest_star_session.end",
                 "channel.guest_star_guest.update", "channel.guest_star_settings.update"}

# ---------------------------------------------------------------- shape inference
def shape_of(v):
  if v is None: return {"k": "null"}
  if isinstance(v, bool): return {"k": "bool"}
  if isinstance(v, (int, float)): return {"k": "num"}
  if isinstance(v, str): return {"k": "str"}
  if isinstance(v, list):
    el = None
    for x in v: el = merge(el, shape_of(x))
    return {"k": "arr", "el": el}
  fields = {k: shape_of(x) for k, x in v.items()}
  return {"k": "obj", "fields": fields, "present": {k: 1 for k in v}, "n": 1}

def merge(a, b):
  if a is None: return b
  if b is None: return a
  if a["k"] == "union" or b["k"] == "union" or a["k"] != b["k"]:
    members = (a["members"] if a["k"] == "union" else [a]) + (b["members"] if b["k"] == "union" else [b])
    out = []
    for m in members:
      for i, o in enumerate(out):
        if o["k"] == m["k"]:
          out[i] = merge(o, m); break
      else:
        out.append(m)
    return out[0] if len(out) == 1 else {"k": "union", "members": out}
  if a["k"] == "arr": return {"k": "arr", "el": merge(a["el"], b["el"])}
  if a["k"] == "obj":
    fields = dict(a["fields"])
    for k, s in b["fields"].items(): fields[k] = merge(fields.get(k), s)
    present = dict(a["present"])
    for k in b["present"]: present[k] = present.get(k, 0) + 1
    return {"k": "obj", "fields": fields, "present": present, "n": a["n"] + b["n"]}
  return a

def split_null(s):
  if s["k"] == "null": return None, True
  if s["k"] == "union":
    ms = [m for m in s["members"] if m["k"] != "null"]
    if len(ms) != len(s["members"]):
      return (ms[0] if len(ms) == 1 else {"k": "union", "members": ms}), True
  return s, False

def render(s, typ, path, key, ind, moderate):
  k = s["k"]
  if k == "str": return "Schema.String"
  if k == "num": return "Schema.Number"
  if k == "bool": return "Schema.Boolean"
  if k == "union":
    return "Schema.Union(" + ", ".join(render(m, typ, path, key, ind, moderate) for m in s["members"]) + ")"
  if k == "arr":
    if s["el"] is None:
      el = EMPTY_ARRAY_ELEMS.get(key, "Schema.Unknown")
    else:
      el = render(s["el"], typ, path + "[]", key, ind, moderate)
    return "Schema.Array(" + el + ")"
  if k == "obj": return render_struct(s, typ, path, ind, moderate)
  raise Exception(k)

KNOWN_BY_KEYS = {
  frozenset(["set_id", "id", "info"]): "ChatBadge",
  frozenset(["type", "text", "cheermote", "emote", "mention"]): "ChatFragment",
}

def render_struct(s, typ, path, ind, moderate):
  if not s["fields"]: return "Schema.Struct({})"
  known = KNOWN_BY_KEYS.get(frozenset(s["fields"].keys()))
  if known and all(v == s["n"] for v in s["present"].values()): return known
  pad = "  " * (ind + 1)
  lines = []
  for key, fs in s["fields"].items():
    p = (path + "." + key) if path else key
    inner, nullable = split_null(fs)
    if inner is None:
      code = (MODERATE_NULL_SHAPES.get(key) if moderate else None) or NULL_SHAPES.get(key)
      if code is None:
        print(f"warning: {typ} {p}: null with unknown shape", file=sys.stderr); code = "Schema.Unknown"
    else:
      if moderate and key in MODERATE_NULL_SHAPES and ind == 1 and inner["k"] == "obj":
        code = MODERATE_NULL_SHAPES[key]
      else:
        code = render(inner, typ, p, key, ind + 1, moderate)
    if (typ, p) in NULLABLE or ("*", p) in NULLABLE: nullable = True
    if typ in LENIENT_TYPES and ind == 1 and not key.startswith("broadcaster_") and key != "session_id": nullable = True
    optional = s["present"].get(key, 0) < s["n"] or (typ, p) in OPTIONAL
    name = key if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) else json.dumps(key)
    if nullable: code = f"Nullable({code})"
    elif optional: code = f"Schema.optionalWith({code}, {{ exact: true }})"
    lines.append(f"{pad}{name}: {code}")
  return "Schema.Struct({\n" + ",\n".join(lines) + "\n" + "  " * ind + "})"

# ---------------------------------------------------------------- scopes
def scopes_code(expr):
  e = expr.strip()
  if e.startswith("none"): return "Scopes.none"
  if e.startswith("app token"): return "Scopes.appToken"
  e = re.sub(r"\s*\[.*\]\s*$", "", e)
  groups = [g.strip().split("|") for g in e.split("&")]
  if len(groups) == 1: return "Scopes.anyOf(" + ", ".join(json.dumps(x.strip()) for x in groups[0]) + ")"
  return "Scopes.allOf(" + ", ".join("[" + ", ".join(json.dumps(x.strip()) for x in g) + "]" for g in groups) + ")"

def const_name(typ, ver):
  base = "".join(w[:1].upper() + w[1:] for w in re.split(r"[._]", typ))
  return base + ("Beta" if ver == "beta" else "V" + ver)

def condition_code(r):
  if r["type"] == "channel.raid":
    return "RaidCondition"
  lines = []
  for f in r["condition_fields"]:
    if f.endswith("?"): lines.append(f"    {f[:-1]}: Schema.optionalWith(Schema.String, {{ exact: true }})")
    else: lines.append(f"    {f}: Schema.String")
  return "Schema.Struct({\n" + ",\n".join(lines) + "\n  })"

def jsdoc_text(t):
  return t.replace("*/", "*\\/")

out = []
fixtures = []
names = []
for r in rows:
  typ, ver = r["type"], r["version"]
  ne = r["notification_example"] or (DROP_EXAMPLE if typ == "drop.entitlement.grant" else None)
  batched = "events" in ne
  ev = ne["events"] if batched else ne["event"]
  s = shape_of(ev)
  moderate = typ == "channel.moderate"
  if batched:
    ev_code = "Schema.Array(" + render_struct(s["el"], typ, "", 1, False) + ")"
  else:
    ev_code = render_struct(s, typ, "", 1, moderate)
  status = "beta" if r["beta"] else ("new" if r["new"] else "stable")
  name = const_name(typ, ver); names.append(name)
  extra = ""
  if r["scopes_expr"].find("[") >= 0: extra = "\n * Scopes: " + jsdoc_text(r["scopes_expr"])
  out.append(f'''/**
 * `{typ}` version {json.dumps(ver)}{" (beta)" if status == "beta" else ""}: {jsdoc_text(r["description"])}{extra}
 *
 * @since 0.1.0
 * @category definitions
 */
export const {name} = define({{
  type: {json.dumps(typ)},
  version: {json.dumps(ver)},
  status: {json.dumps(status)},
  batched: {"true" if batched else "false"},
  condition: {condition_code(r)},
  event: {ev_code},
  scopes: {scopes_code(r["scopes_expr"])},
  authorization: {json.dumps(r["authorization"] or "")}
}})
''')
  fixtures.append({"type": typ, "version": ver, "name": name, "request": r["request_example"], "notification": ne})

header = open(os.path.join(ROOT, "scripts", "eventsub-types.preamble.ts")).read()
all_code = "/**\n * Every definition, in the order of the Twitch documentation.\n *\n * @since 0.1.0\n * @category definitions\n */\nexport const all = [\n" + ",\n".join("  " + n for n in names) + "\n] as const\n"
open(os.path.join(ROOT, "src", "generated", "EventSubDefinitions.ts"), "w").write(header + "\n" + "\n".join(out) + "\n" + all_code)
os.makedirs(os.path.join(ROOT, "test", "fixtures"), exist_ok=True)
json.dump(fixtures, open(os.path.join(ROOT, "test", "fixtures", "eventsub-examples.json"), "w"), indent=1)
print(f"{len(names)} definitions")
