#!/usr/bin/env node
// The official Seam fake (@seamapi/fake-seam-connect), seeded with a realistic property, behind a
// small loopback shim.
//
//   node devtools/fake_seam.mjs --port N [--exit-on-stdin-close]
//        [--scenario default|large [--devices N] [--codes-per-device M] [--failing-ratio R]]
//
// * N = 0 picks a free port. Everything binds to 127.0.0.1 only.
// * --scenario default (the default) seeds "Harbor View Rentals" (see devtools/seam_fake.py).
//   --scenario large seeds a benchmark workspace instead, in-process at start-up (about 1 s for
//   10,000 codes): N devices (default 1000) with M managed codes each (default 10), a fraction R
//   of the codes (default 0.05) failing with code-level errors, spread over the devices. Its
//   ids are not listed in the ready line (too many): `ids` = {workspace_id, scenario: "large",
//   counts: {devices, codes, failing}}. In the large scenario only, the shim answers
//   `/access_codes/list` itself, filtered by `device_id` as Seam does: the fake's list ignores
//   the filter and would return every code of the database for each device (10 M codes per
//   scan), which would measure the fake's bug instead of the bot.
// * The fake itself runs on an internal ephemeral loopback port. The public server on N proxies
//   every request to it unchanged (method, path, query, headers, body), except:
//     - Seam routes the fake lacks, implemented here on the fake's database with Seam's shapes:
//         POST|GET   /access_codes/unmanaged/get                 {access_code_id} | {device_id, code}
//         POST|DELETE /access_codes/unmanaged/delete             {access_code_id, sync?}
//         POST|PATCH /access_codes/unmanaged/convert_to_managed  {access_code_id, allow_external_modification?}
//     - control routes for tests under /_shim/ (no auth; loopback only; JSON in and out):
//         POST /_shim/delay  {seconds, paths?, phase?: "after"|"before"|"drop"}   hold matching
//                            responses (0 clears all delays; latest matching rule wins; default
//                            "after" = the fake handles the request at once, the response waits;
//                            "drop" = held before the fake sees it, and never handled if the
//                            client goes away meanwhile: a request lost on its way)
//         POST /_shim/fail   {status, paths?, methods?, count?, retry_after?, body?: null|"json"|str}
//                            answer matching requests with that failure (status 0 clears; rules
//                            apply in the order added; count absent = until cleared)
//         POST /_shim/paginate {page_size, paths?, loop?: bool}  split list answers (devices,
//                            access_codes) into pages of page_size with page cursors "p1",
//                            "p2"...; loop: every page after the first names "p1" again, as a
//                            server that loops does (page_size 0 clears)
//         POST /_shim/reset  clear delays, failures, pagination, the call log and this
//                            workspace's outage
//         POST /_shim/restore put the database back to the seeded scenario
//         GET  /_shim/calls  {calls: [{method, path, query, body, at (epoch s), status, injected}]}
//         POST /_shim/update_access_code {access_code_id, ...patch} -> {ok, access_code}
//         POST /_shim/update_device      {device_id, ...patch}      -> {ok, device}
//         POST /_shim/add_access_code    {device_id, ...fields}     -> {ok, access_code}
//         GET  /_shim/scenario           {port, api_key, workspace_id, ids}
//         POST /_shim/bulk_update {kind: "access_codes"|"devices", patch, limit?, only?:
//                            "healthy"|"failing", device_ids?} -> {ok, updated, ids}: patch the
//                            first `limit` matching rows of the scenario workspace, in seeded
//                            order (large scenario: codes interleaved over the devices)
//     Paths in delay/fail are exact ("/access_codes/get") or prefixes ending in "*".
//   /_fake/* routes are proxied to the fake as-is (not logged, not delayed, never failed).
// * On ready, exactly one JSON line is written to stdout:
//     {"ready": true, "port": N, "api_key": "...", "workspace_id": "...", "ids": {...}}
//   Anything the fake's own logger prints goes to stderr.
// * Exits cleanly on SIGTERM/SIGINT, and when stdin closes if --exit-on-stdin-close is given.
//
// Deliberately NOT fixed: the fake's bugs (e.g. /access_codes/list ignoring device_id and leaking
// unmanaged and other-workspace codes). The bot must defend itself against them.

import { createHash, randomUUID } from "node:crypto"
import http from "node:http"
import process from "node:process"

import { createFake } from "@seamapi/fake-seam-connect"

const HOST = "127.0.0.1"

// Keep stdout for the single ready line: route everything else (winston, console.log) to stderr.
const writeStdout = process.stdout.write.bind(process.stdout)
process.stdout.write = process.stderr.write.bind(process.stderr)

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

const parseArgs = (argv) => {
  const args = {
    port: 0,
    exitOnStdinClose: false,
    scenario: "default",
    devices: 1000,
    codesPerDevice: 10,
    failingRatio: 0.05,
  }
  // "--name value" or "--name=value" for the options that take a value.
  const valued = {
    "--port": (v) => (args.port = Number(v)),
    "--scenario": (v) => (args.scenario = v),
    "--devices": (v) => (args.devices = Number(v)),
    "--codes-per-device": (v) => (args.codesPerDevice = Number(v)),
    "--failing-ratio": (v) => (args.failingRatio = Number(v)),
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const eq = a.indexOf("=")
    const name = eq > 0 ? a.slice(0, eq) : a
    if (name in valued) valued[name](eq > 0 ? a.slice(eq + 1) : argv[++i])
    else if (a === "--exit-on-stdin-close") args.exitOnStdinClose = true
    else throw new Error(`unknown argument: ${a}`)
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    throw new Error(`--port must be an integer 0..65535, got ${args.port}`)
  }
  if (args.scenario !== "default" && args.scenario !== "large") {
    throw new Error(`--scenario must be "default" or "large", got ${args.scenario}`)
  }
  if (!Number.isInteger(args.devices) || args.devices < 1 || args.devices > 100000) {
    throw new Error(`--devices must be an integer 1..100000, got ${args.devices}`)
  }
  if (!Number.isInteger(args.codesPerDevice) || args.codesPerDevice < 0 || args.codesPerDevice > 1000) {
    throw new Error(`--codes-per-device must be an integer 0..1000, got ${args.codesPerDevice}`)
  }
  if (!(args.failingRatio >= 0 && args.failingRatio <= 1)) {
    throw new Error(`--failing-ratio must be a number 0..1, got ${args.failingRatio}`)
  }
  return args
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Stable UUID (v5-shaped) derived from a descriptive key, so ids survive restarts. */
const stableUuid = (key) => {
  const h = createHash("sha1").update(`seam-code-doctor/fake/${key}`).digest("hex")
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const HOUR = 3600 * 1000
const DAY = 24 * HOUR
// Guest names carry no dates: a date in a name is one fixed time zone's (UTC) reading, and would
// disagree with the schedule Slack shows each reader in their own zone next to it.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = []
    req.on("data", (c) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

const parseJson = (buf) => {
  if (buf.length === 0) return null
  try {
    return JSON.parse(buf.toString("utf8"))
  } catch {
    return undefined
  }
}

/** Query string → object; repeated keys become arrays (as the SDK sends arrays). */
const queryToObject = (searchParams) => {
  const out = {}
  for (const [k, v] of searchParams) {
    if (k in out) out[k] = [].concat(out[k], v)
    else out[k] = v
  }
  return out
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
])

const stripHopByHop = (headers) => {
  const out = {}
  for (const [k, v] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(k.toLowerCase()) && v !== undefined) out[k] = v
  }
  return out
}

/** A buffered response: {status, headers, body: Buffer}. */
const jsonResult = (status, payload, extraHeaders = {}) => {
  const body = Buffer.from(JSON.stringify(payload))
  return { status, headers: { "content-type": "application/json; charset=utf-8", ...extraHeaders }, body }
}

const writeResult = (res, result) => {
  if (res.destroyed || res.writableEnded) return
  const headers = { ...result.headers, "content-length": String(result.body.length) }
  res.writeHead(result.status, headers)
  res.end(result.body)
}

const seamError = (status, type, message, extra = {}) =>
  jsonResult(status, { error: { type, message, ...extra }, ok: false })

const DEFAULT_ERROR_TYPES = {
  400: "invalid_input",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  422: "unprocessable_entity",
  429: "rate_limit_exceeded",
  500: "internal_server_error",
  502: "bad_gateway",
  503: "service_unavailable",
  504: "gateway_timeout",
}

// ---------------------------------------------------------------------------------------------
// Scenario
// ---------------------------------------------------------------------------------------------

const API_KEY = "seam_testkey1_2bF9qXvT7mWcK4nR8pLz"

const buildScenario = (db, now) => {
  const iso = (ms) => new Date(ms).toISOString()
  const ago = (ms) => iso(now - ms)
  const ids = {
    workspace_id: stableUuid("workspace/harbor-view"),
    connected_accounts: {},
    devices: {},
    codes: {},
    unmanaged: {},
    issues: {},
    foreign: {},
  }
  const workspace_id = ids.workspace_id

  db.addWorkspace({
    workspace_id,
    name: "Harbor View Rentals",
    company_name: "Harbor View Rentals LLC",
    is_sandbox: true,
    created_at: ago(400 * DAY),
  })
  db.addApiKey({ name: "Seam Code Doctor", token: API_KEY, workspace_id })

  // --- connected accounts, one per brand --------------------------------------------------
  const accounts = {
    august: ["august", "ops+august@harborview.example"],
    schlage: ["schlage", "ops+schlage@harborview.example"],
    kwikset: ["kwikset", "ops+kwikset@harborview.example"],
    smartthings: ["smartthings", "ops+smartthings@harborview.example"],
  }
  for (const [key, [provider, email]] of Object.entries(accounts)) {
    const connected_account_id = stableUuid(`connected_account/${key}`)
    db.addConnectedAccount({
      connected_account_id,
      provider,
      workspace_id,
      user_identifier: { email },
      display_name: email,
      created_at: ago(300 * DAY),
    })
    ids.connected_accounts[key] = connected_account_id
  }

  // --- devices --------------------------------------------------------------------------------
  let deviceOrder = 0
  const addLock = (key, spec) => {
    const device_id = stableUuid(`device/${key}`)
    deviceOrder += 1
    db.addDevice({
      device_id,
      workspace_id,
      connected_account_id: ids.connected_accounts[spec.account],
      device_type: spec.device_type,
      name: spec.name,
      display_name: spec.name,
      can_remotely_lock: true,
      can_remotely_unlock: true,
      can_program_online_access_codes: true,
      created_at: iso(now - 200 * DAY + deviceOrder * 60 * 1000),
      errors: spec.errors ?? [],
      warnings: spec.warnings ?? [],
      properties: {
        name: spec.name,
        appearance: { name: spec.name },
        manufacturer: spec.manufacturer,
        model: {
          display_name: spec.model,
          manufacturer_display_name: spec.manufacturer_display_name,
        },
        online: spec.online ?? true,
        locked: true,
        battery_level: spec.battery ?? 0.82,
        battery: { level: spec.battery ?? 0.82, status: (spec.battery ?? 0.82) < 0.25 ? "low" : "good" },
        supported_code_lengths: spec.supported_code_lengths,
        max_active_codes_supported: spec.max_active_codes_supported,
        code_constraints: spec.code_constraints ?? [],
        supports_backup_access_code_pool: spec.supports_backup_access_code_pool ?? false,
        backup_access_code_pool_enabled: spec.supports_backup_access_code_pool ?? false,
        online_access_codes_enabled: true,
        offline_access_codes_enabled: false,
        has_native_entry_events: true,
        ...(spec.extraProperties ?? {}),
      },
    })
    ids.devices[key] = device_id
    return device_id
  }

  addLock("front_door", {
    account: "august",
    device_type: "august_lock",
    name: "Unit 2B Front Door",
    manufacturer: "august",
    manufacturer_display_name: "August",
    model: "August Wi-Fi Smart Lock",
    supported_code_lengths: [4, 5, 6, 7, 8],
    max_active_codes_supported: 30,
    code_constraints: [],
    supports_backup_access_code_pool: true,
  })
  addLock("back_door", {
    account: "schlage",
    device_type: "schlage_lock",
    name: "Unit 2B Back Door",
    manufacturer: "schlage",
    manufacturer_display_name: "Schlage",
    model: "Schlage Encode Smart WiFi Deadbolt",
    supported_code_lengths: [4, 5, 6, 7, 8],
    max_active_codes_supported: 100,
    code_constraints: [
      { constraint_type: "cannot_start_with_12" },
      { constraint_type: "no_triple_consecutive_ints" },
      { constraint_type: "name_length", max_length: 20 },
    ],
  })
  addLock("side_gate", {
    account: "kwikset",
    device_type: "kwikset_lock",
    name: "Side Gate",
    manufacturer: "kwikset",
    manufacturer_display_name: "Kwikset",
    model: "Kwikset Halo Touchscreen Wi-Fi Smart Lock",
    supported_code_lengths: [4, 5, 6, 7, 8],
    max_active_codes_supported: 250,
    code_constraints: [{ constraint_type: "name_length", min_length: 1, max_length: 14 }],
    battery: 0.64,
  })
  addLock("garage", {
    account: "smartthings",
    device_type: "smartthings_lock",
    name: "Garage Entry",
    manufacturer: "smartthings",
    manufacturer_display_name: "SmartThings",
    model: "Yale Assure Lock SL (via SmartThings)",
    supported_code_lengths: [4, 5, 6, 7, 8],
    max_active_codes_supported: 30,
    code_constraints: [{ constraint_type: "no_all_same_digits" }],
    warnings: [
      {
        warning_code: "third_party_integration_detected",
        message: "Third-party integration detected that may cause access codes to fail.",
        created_at: ago(12 * DAY),
      },
    ],
  })
  addLock("lobby", {
    account: "schlage",
    device_type: "schlage_lock",
    name: "Lobby Keypad",
    manufacturer: "schlage",
    manufacturer_display_name: "Schlage",
    model: "Schlage Sense Smart Deadbolt",
    supported_code_lengths: [4, 5, 6, 7, 8],
    max_active_codes_supported: 4,
    code_constraints: [{ constraint_type: "cannot_start_with_12" }],
    warnings: [
      {
        warning_code: "max_access_codes_reached",
        message: "Device has reached its maximum number of active access codes.",
        created_at: ago(3 * HOUR),
        active_access_code_count: 4,
        max_active_access_code_count: 4,
      },
    ],
  })
  const offlineSince = ago(2 * HOUR + 14 * 60 * 1000)
  addLock("unit_3a_front_door", {
    account: "august",
    device_type: "august_lock",
    name: "Unit 3A Front Door",
    manufacturer: "august",
    manufacturer_display_name: "August",
    model: "August Smart Lock Pro",
    supported_code_lengths: [4, 5, 6, 7, 8],
    max_active_codes_supported: 30,
    online: false,
    battery: 0.18,
    supports_backup_access_code_pool: true,
    errors: [
      {
        error_code: "device_offline",
        message: "Device is offline",
        is_device_error: true,
        created_at: offlineSince,
      },
    ],
  })

  // --- access codes -------------------------------------------------------------------------
  const addCode = (key, fields, issue) => {
    const access_code_id = stableUuid(`access_code/${key}`)
    const managed = fields.is_managed !== false
    const base = {
      access_code_id,
      workspace_id,
      created_at: ago(fields.createdAgo ?? 2 * DAY),
      type: fields.starts_at != null ? "time_bound" : "ongoing",
      status: "set",
      errors: [],
      warnings: [],
    }
    const managedExtras = managed
      ? {
          is_managed: true,
          pending_mutations: [],
          is_backup_access_code_available: false,
          is_external_modification_allowed: false,
          is_one_time_use: false,
          is_offline_access_code: false,
          is_scheduled_on_device: fields.starts_at != null,
          is_waiting_for_code_assignment: false,
        }
      : {
          is_managed: false,
          // addAccessCode adds managed-only defaults; undefined drops them from JSON.
          is_backup_access_code_available: undefined,
          is_external_modification_allowed: undefined,
          is_one_time_use: undefined,
          is_offline_access_code: undefined,
        }
    const { createdAgo: _unused, ...rest } = fields
    db.addAccessCode({ ...base, ...managedExtras, ...rest })
    if (!managed) db.updateAccessCode({ access_code_id, common_code_key: undefined })
    ;(managed ? ids.codes : ids.unmanaged)[key] = access_code_id
    ids.issues[key] = issue
    return access_code_id
  }

  const dev = ids.devices
  const stay = (startMs, endMs) => ({ starts_at: iso(startMs), ends_at: iso(endMs) })

  // 1. failed_to_set_on_device: Jane arrives in ~5 hours; a backup code can be pulled.
  {
    const s = now + 5 * HOUR
    const e = s + 3 * DAY
    addCode(
      "failed_to_set",
      {
        device_id: dev.front_door,
        name: "Guest: Jane Doe",
        code: "4827",
        ...stay(s, e),
        status: "unset",
        createdAgo: 26 * HOUR,
        is_backup_access_code_available: true,
        errors: [
          {
            error_code: "failed_to_set_on_device",
            message: "Failed to set code on device.",
            is_access_code_error: true,
            created_at: ago(40 * 60 * 1000),
          },
        ],
        pending_mutations: [
          {
            mutation_code: "creating",
            message: "Seam is in the process of setting this access code on the device.",
            created_at: ago(26 * HOUR),
          },
        ],
      },
      "failed_to_set_on_device",
    )
  }

  // 2. legacy august_device_slots_full on the same August lock.
  {
    const s = now + 2 * DAY
    const e = s + 4 * DAY
    addCode(
      "august_slots_full",
      {
        device_id: dev.front_door,
        name: "Guest: Priya Patel",
        code: "6051",
        ...stay(s, e),
        status: "unset",
        errors: [
          {
            error_code: "august_device_slots_full",
            message: "All access code slots on the August lock are in use.",
            is_access_code_error: true,
            created_at: ago(3 * HOUR),
          },
        ],
      },
      "august_device_slots_full",
    )
  }

  // 3. healthy ongoing code on the August lock.
  addCode(
    "healthy_cleaner",
    { device_id: dev.front_door, name: "Cleaner", code: "1470", createdAgo: 90 * DAY },
    "healthy",
  )

  // 4. unmanaged code on the August lock (made on the keypad by the landlord).
  addCode(
    "landlord_code",
    {
      device_id: dev.front_door,
      is_managed: false,
      name: "Landlord",
      code: "8642",
      createdAgo: 180 * DAY,
    },
    "unmanaged",
  )

  // 5. duplicate_code_on_device vs the owner's unmanaged code with the same PIN (Schlage).
  const ownerCodeId = stableUuid("access_code/owner_code")
  {
    const s = now + 1 * DAY
    const e = s + 5 * DAY
    addCode(
      "duplicate",
      {
        device_id: dev.back_door,
        name: "Guest: Tom Becker",
        code: "2580",
        ...stay(s, e),
        status: "unset",
        errors: [
          {
            error_code: "duplicate_code_on_device",
            message: "Duplicate access code detected on device.",
            is_access_code_error: true,
            unmanaged_access_code_id: ownerCodeId,
            created_at: ago(90 * 60 * 1000),
          },
        ],
      },
      "duplicate_code_on_device",
    )
  }
  addCode(
    "owner_code",
    {
      device_id: dev.back_door,
      is_managed: false,
      name: "Owner's code",
      code: "2580",
      createdAgo: 365 * DAY,
    },
    "unmanaged",
  )

  // 6. code_constraints_violated: "1234" breaks the Schlage's cannot_start_with_12 rule.
  addCode(
    "constraints_violated",
    {
      device_id: dev.back_door,
      name: "Dog walker",
      code: "1234",
      status: "unset",
      errors: [
        {
          error_code: "code_constraints_violated",
          message: "Code does not satisfy the device's code constraints: cannot_start_with_12.",
          is_access_code_error: true,
          created_at: ago(5 * HOUR),
        },
      ],
    },
    "code_constraints_violated",
  )

  // 7. healthy time-bound guest code, active right now (Schlage).
  {
    const s = now - 1 * DAY
    const e = now + 2 * DAY
    addCode(
      "healthy_guest",
      {
        device_id: dev.back_door,
        name: "Guest: Emma Wilson",
        code: "3917",
        ...stay(s, e),
        createdAgo: 4 * DAY,
      },
      "healthy",
    )
  }

  // 8. kwikset_unable_to_confirm_code (legacy Kwikset code).
  addCode(
    "kwikset_unconfirmed",
    {
      device_id: dev.side_gate,
      name: "Cleaner: Sparkle Co.",
      code: "5093",
      status: "setting",
      errors: [
        {
          error_code: "kwikset_unable_to_confirm_code",
          message: "Kwikset was unable to confirm that the code was set on the lock.",
          is_access_code_error: true,
          created_at: ago(2 * HOUR),
        },
      ],
    },
    "kwikset_unable_to_confirm_code",
  )

  // 9. conflicting_external_modification: someone changed the PIN on the SmartThings app.
  addCode(
    "external_modification",
    {
      device_id: dev.garage,
      name: "Handyman: Luis",
      code: "7391",
      errors: [
        {
          error_code: "conflicting_external_modification",
          message:
            "Code was modified or removed externally after Seam successfully set it on the device. Seam will attempt to set the code on the device again.",
          is_access_code_error: true,
          change_type: "modified",
          modified_fields: [{ field: "code", from: "7391", to: "7390" }],
          created_at: ago(6 * HOUR),
        },
      ],
    },
    "conflicting_external_modification",
  )

  // 10. warning only: delay_in_setting_on_device.
  {
    const s = now + 20 * HOUR
    const e = s + 2 * DAY
    addCode(
      "delay_warning",
      {
        device_id: dev.garage,
        name: "Guest: Aiko Tanaka",
        code: "9264",
        ...stay(s, e),
        status: "setting",
        warnings: [
          {
            warning_code: "delay_in_setting_on_device",
            message: "Delay in setting code on device.",
            created_at: ago(25 * 60 * 1000),
          },
        ],
        pending_mutations: [
          {
            mutation_code: "creating",
            message: "Seam is in the process of setting this access code on the device.",
            created_at: ago(50 * 60 * 1000),
          },
        ],
      },
      "delay_in_setting_on_device",
    )
  }

  // 11. an error code this bot has never heard of.
  addCode(
    "unknown_error",
    {
      device_id: dev.garage,
      name: "Pool service",
      code: "4471",
      errors: [
        {
          error_code: "totally_new_error_code",
          message: "Something new went wrong with this access code.",
          is_access_code_error: true,
          created_at: ago(70 * 60 * 1000),
        },
      ],
    },
    "totally_new_error_code",
  )

  // 12. no_space_for_access_code_on_device on the full Lobby Keypad.
  {
    const s = now + 30 * HOUR
    const e = s + 3 * DAY
    addCode(
      "no_space",
      {
        device_id: dev.lobby,
        name: "Guest: Marco Rossi",
        code: "7315",
        ...stay(s, e),
        status: "unset",
        errors: [
          {
            error_code: "no_space_for_access_code_on_device",
            message: "No space for access code on device.",
            is_access_code_error: true,
            created_at: ago(3 * HOUR),
          },
        ],
      },
      "no_space_for_access_code_on_device",
    )
  }

  // 13. legacy code_modified_external_to_seam on the Lobby Keypad.
  addCode(
    "legacy_external_modification",
    {
      device_id: dev.lobby,
      name: "Maintenance",
      code: "8023",
      createdAgo: 60 * DAY,
      errors: [
        {
          error_code: "code_modified_external_to_seam",
          message: "Code was modified or removed externally after Seam successfully set it on the device.",
          is_access_code_error: true,
          created_at: ago(1 * DAY),
        },
      ],
    },
    "code_modified_external_to_seam",
  )

  // 14+15. the offline August lock: two codes carrying the copied device_offline error.
  const deviceOffline = () => [
    {
      error_code: "device_offline",
      message: "Device is offline",
      is_device_error: true,
      created_at: offlineSince,
    },
  ]
  {
    const s = now + 8 * HOUR
    const e = s + 2 * DAY
    addCode(
      "offline_guest",
      {
        device_id: dev.unit_3a_front_door,
        name: "Guest: Sam Rivera",
        code: "6620",
        ...stay(s, e),
        status: "unset",
        is_backup_access_code_available: true,
        errors: deviceOffline(),
      },
      "device_offline",
    )
  }
  addCode(
    "offline_housekeeping",
    {
      device_id: dev.unit_3a_front_door,
      name: "Housekeeping",
      code: "2719",
      createdAgo: 45 * DAY,
      errors: deviceOffline(),
    },
    "device_offline",
  )

  // 16. a healthy arrival (Arrivals first: the digest's "ready" state): set on the lock, no
  // issue, starting in ~36 hours on the Schlage back door.
  {
    const s = now + 36 * HOUR
    const e = s + 3 * DAY
    addCode(
      "healthy_arrival",
      {
        device_id: dev.back_door,
        name: "Guest: Noah Kim",
        code: "5186",
        ...stay(s, e),
        createdAgo: 3 * DAY,
      },
      "healthy",
    )
  }

  // --- a code in ANOTHER workspace (the fake's seeded workspace 1), to expose list leaks ------
  const foreignCodeId = stableUuid("access_code/foreign")
  db.addAccessCode({
    access_code_id: foreignCodeId,
    workspace_id: "seed_workspace_1",
    device_id: "august_device_1",
    name: "Other workspace guest",
    code: "1111",
    type: "ongoing",
    status: "set",
    pending_mutations: [],
  })
  ids.foreign = {
    workspace_id: "seed_workspace_1",
    api_key: "seam_apikey1_token",
    device_id: "august_device_1",
    access_code_id: foreignCodeId,
  }

  return ids
}

// ---------------------------------------------------------------------------------------------
// The large scenario (benchmarks): N devices × M managed codes, a fraction of them failing
// ---------------------------------------------------------------------------------------------

/** Code-level errors given to failing codes of the large scenario, in rotation. */
const LARGE_CODE_ERRORS = [
  ["failed_to_set_on_device", "Failed to set code on device."],
  ["no_space_for_access_code_on_device", "No space for access code on device."],
  ["code_constraints_violated", "Code does not satisfy the device's code constraints."],
  ["duplicate_code_on_device", "Duplicate access code detected on device."],
]

/** The errors of the k-th failing code (code-level, like Seam's `is_access_code_error`). */
const largeCodeErrors = (k, createdAt) => {
  const [error_code, message] = LARGE_CODE_ERRORS[k % LARGE_CODE_ERRORS.length]
  return [{ error_code, message, is_access_code_error: true, created_at: createdAt }]
}

const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b))

const LARGE_BRANDS = [
  ["august", "August", "august_lock", "August Wi-Fi Smart Lock"],
  ["schlage", "Schlage", "schlage_lock", "Schlage Encode Smart WiFi Deadbolt"],
  ["kwikset", "Kwikset", "kwikset_lock", "Kwikset Halo Touchscreen Wi-Fi Smart Lock"],
  ["smartthings", "SmartThings", "smartthings_lock", "Yale Assure Lock SL (via SmartThings)"],
]

const buildLargeScenario = (db, now, { devices, codesPerDevice, failingRatio }) => {
  const iso = (ms) => new Date(ms).toISOString()
  const workspace_id = stableUuid("workspace/large-portfolio")
  db.addWorkspace({
    workspace_id,
    name: "Large Portfolio (benchmark)",
    company_name: "Large Portfolio LLC",
    is_sandbox: true,
    created_at: iso(now - 400 * DAY),
  })
  db.addApiKey({ name: "Seam Code Doctor", token: API_KEY, workspace_id })
  const accounts = LARGE_BRANDS.map(([provider]) => {
    const connected_account_id = stableUuid(`large/connected_account/${provider}`)
    db.addConnectedAccount({
      connected_account_id,
      provider,
      workspace_id,
      user_identifier: { email: `ops+${provider}@large.example` },
      display_name: `ops+${provider}@large.example`,
      created_at: iso(now - 300 * DAY),
    })
    return connected_account_id
  })
  const deviceIds = []
  for (let i = 0; i < devices; i++) {
    const [manufacturer, brand, device_type, model] = LARGE_BRANDS[i % LARGE_BRANDS.length]
    const device_id = stableUuid(`large/device/${i}`)
    const name = `Unit ${String(i + 1).padStart(4, "0")} Front Door`
    db.addDevice({
      device_id,
      workspace_id,
      connected_account_id: accounts[i % accounts.length],
      device_type,
      name,
      display_name: name,
      can_remotely_lock: true,
      can_remotely_unlock: true,
      can_program_online_access_codes: true,
      created_at: iso(now - 200 * DAY + i * 1000),
      errors: [],
      warnings: [],
      properties: {
        name,
        appearance: { name },
        manufacturer,
        model: { display_name: model, manufacturer_display_name: brand },
        online: true,
        locked: true,
        battery_level: 0.82,
        battery: { level: 0.82, status: "good" },
        supported_code_lengths: [4, 5, 6, 7, 8],
        max_active_codes_supported: 250,
        code_constraints: [],
        supports_backup_access_code_pool: false,
        backup_access_code_pool_enabled: false,
        online_access_codes_enabled: true,
        offline_access_codes_enabled: false,
        has_native_entry_events: true,
      },
    })
    deviceIds.push(device_id)
  }
  // Codes are added interleaved (code k is on device k mod N), so any prefix of them is spread
  // over the devices. Failing codes: a fixed permutation k -> k·P mod total picks exactly
  // round(total·R) of them, scattered over the devices.
  const total = devices * codesPerDevice
  const failing = Math.round(total * failingRatio)
  const prime = [7919, 7907, 104729, 1299709].find((p) => gcd(p, total) === 1) ?? 1
  const erroredAt = iso(now - 40 * 60 * 1000)
  let failingSeen = 0
  for (let k = 0; k < total; k++) {
    const i = k % devices
    const fails = total > 0 && (k * prime) % total < failing
    const timeBound = k % 5 < 3
    const starts = now + (1 + (k % 216)) * HOUR // within Seam's 9-day programming window
    db.addAccessCode({
      access_code_id: stableUuid(`large/access_code/${k}`),
      workspace_id,
      device_id: deviceIds[i],
      name: timeBound ? `Guest ${k}` : `Staff ${k}`,
      code: String(1000 + ((k * 37) % 9000)),
      type: timeBound ? "time_bound" : "ongoing",
      ...(timeBound ? { starts_at: iso(starts), ends_at: iso(starts + 3 * DAY) } : {}),
      created_at: iso(now - 2 * DAY),
      status: fails ? "unset" : "set",
      errors: fails ? largeCodeErrors(failingSeen, erroredAt) : [],
      warnings: [],
      pending_mutations: [],
      is_managed: true,
      is_backup_access_code_available: false,
      is_external_modification_allowed: false,
      is_one_time_use: false,
      is_offline_access_code: false,
      is_scheduled_on_device: timeBound,
      is_waiting_for_code_assignment: false,
    })
    if (fails) failingSeen += 1
  }
  return {
    workspace_id,
    scenario: "large",
    counts: { devices, codes: total, failing: failingSeen },
  }
}

/** Seam routes the shim answers itself in the large scenario (see the header). */
const LARGE_SEAM_ROUTES = {
  "/access_codes/list": {
    methods: ["GET", "POST"],
    handle: (db, workspace_id, params) => {
      const { device_id, access_code_ids } = params
      if (!device_id && !access_code_ids) {
        return invalidInput("Either 'device_id' or 'access_code_ids' is required")
      }
      const wanted = access_code_ids == null ? null : new Set([].concat(access_code_ids))
      const access_codes = db.access_codes.filter(
        (ac) =>
          ac.workspace_id === workspace_id &&
          ac.is_managed !== false &&
          !(ac.is_backup ?? false) &&
          (!device_id || ac.device_id === device_id) &&
          (wanted == null || wanted.has(ac.access_code_id)),
      )
      return jsonResult(200, { access_codes, ok: true })
    },
  },
}

// ---------------------------------------------------------------------------------------------
// Shim: Seam routes the fake lacks
// ---------------------------------------------------------------------------------------------

/** Same checks, order and messages as the fake's withApiKey middleware. */
const authenticate = (db, headers) => {
  const authorization = headers.authorization
  if (authorization == null) return { error: seamError(401, "unauthorized", "No Authorization header") }
  const token = authorization.split("Bearer ")[1]
  if (token == null) return { error: seamError(401, "unauthorized", "No token provided") }
  if (token.startsWith("seam_cst1")) {
    return {
      error: seamError(401, "client_session_token_used_for_api_key", "A client session token was used instead of an API key"),
    }
  }
  if (token.startsWith("seam_at")) {
    return { error: seamError(401, "access_token_used_for_api_key", "An access token was used instead of an API key") }
  }
  const apiKey = db.api_keys.find((k) => k.token === token)
  if (apiKey == null) return { error: seamError(401, "unauthorized", "API Key not found") }
  return { workspace_id: apiKey.workspace_id }
}

const inOutage = (db, workspace_id, path) => {
  const outage = db.simulatedWorkspaceOutages[workspace_id]
  return outage != null && (outage.routes ?? []).includes(path)
}

const invalidInput = (message, param) =>
  seamError(400, "invalid_input", message, {
    validation_errors: param == null ? { _errors: [message] } : { _errors: [], [param]: { _errors: [message] } },
  })

const boolParam = (v) => v === true || v === "true"

const findUnmanaged = (db, workspace_id, params) =>
  db.access_codes.find(
    (ac) =>
      ac.is_managed === false &&
      ac.workspace_id === workspace_id &&
      (params.access_code_id != null
        ? ac.access_code_id === params.access_code_id
        : ac.device_id === params.device_id && ac.code === params.code),
  )

const notFoundUnmanaged = (params) =>
  seamError(404, "access_code_not_found", "Unmanaged access code not found", {
    data: { access_code_id: params.access_code_id ?? null },
  })

const SHIMMED_SEAM_ROUTES = {
  "/access_codes/unmanaged/get": {
    methods: ["GET", "POST"],
    handle: (db, workspace_id, params) => {
      if (params.access_code_id == null && (params.device_id == null || params.code == null)) {
        return invalidInput('Either "access_code_id" OR "code" and "device_id" must be provided')
      }
      const code = findUnmanaged(db, workspace_id, params)
      if (code == null) return notFoundUnmanaged(params)
      return jsonResult(200, { access_code: code, ok: true })
    },
  },
  "/access_codes/unmanaged/delete": {
    methods: ["POST", "DELETE"],
    handle: (db, workspace_id, params) => {
      if (params.access_code_id == null) return invalidInput("Required", "access_code_id")
      const code = findUnmanaged(db, workspace_id, { access_code_id: params.access_code_id })
      if (code == null) return notFoundUnmanaged(params)
      const pending = db.addActionAttempt({ action_type: "DELETE_ACCESS_CODE" })
      const done = db.updateActionAttempt({
        action_attempt_id: pending.action_attempt_id,
        status: "success",
        result: {},
        error: null,
      })
      db.deleteAccessCode(code.access_code_id)
      return jsonResult(200, { action_attempt: boolParam(params.sync) ? done : pending, ok: true })
    },
  },
  "/access_codes/unmanaged/convert_to_managed": {
    methods: ["POST", "PATCH"],
    handle: (db, workspace_id, params) => {
      if (params.access_code_id == null) return invalidInput("Required", "access_code_id")
      const code = findUnmanaged(db, workspace_id, { access_code_id: params.access_code_id })
      if (code == null) return notFoundUnmanaged(params)
      const allow = params.allow_external_modification ?? params.is_external_modification_allowed
      db.updateAccessCode({
        access_code_id: code.access_code_id,
        is_managed: true,
        status: "set",
        pending_mutations: [],
        common_code_key: null,
        is_backup_access_code_available: false,
        is_external_modification_allowed: boolParam(allow),
        is_one_time_use: false,
        is_offline_access_code: false,
      })
      db.addEvent({
        event_type: "access_code.unmanaged.converted_to_managed",
        workspace_id,
        device_id: code.device_id,
        access_code_id: code.access_code_id,
      })
      return jsonResult(200, { ok: true })
    },
  },
}

const handleShimmedSeamRoute = (db, route, req, path, query, body) => {
  const requestId = db.getNextRequestId()
  const withRequestId = (result) => ({
    ...result,
    headers: { ...result.headers, "seam-request-id": requestId },
  })
  if (!route.methods.includes(req.method)) {
    return withRequestId(seamError(405, "method_not_allowed", `Method ${req.method} not allowed`))
  }
  const auth = authenticate(db, req.headers)
  if (auth.error) return withRequestId(auth.error)
  if (inOutage(db, auth.workspace_id, path)) {
    return { status: 503, headers: { "seam-request-id": requestId }, body: Buffer.alloc(0) }
  }
  if (body === undefined) return withRequestId(invalidInput("Request body is not valid JSON"))
  const params = { ...query, ...(body ?? {}) }
  delete params._strict
  return withRequestId(route.handle(db, auth.workspace_id, params))
}

// ---------------------------------------------------------------------------------------------
// Injection state (delays, failures) and the call log
// ---------------------------------------------------------------------------------------------


// ---------------------------------------------------------------------------------------------
// Settling: what real Seam does after a change succeeds (the fake keeps stale errors forever)
// ---------------------------------------------------------------------------------------------

const SLOT_ERRORS = new Set([
  "no_space_for_access_code_on_device",
  "august_device_slots_full",
  "smartthings_no_free_slots_available",
  "hubitat_no_free_positions_available",
])

/** True for a problem that belongs to the device or account rather than the code itself. */
const isParentIssue = (issue) =>
  issue?.is_device_error === true || issue?.is_connected_account_error === true

/**
 * After a successful change, Seam re-programs the lock and re-evaluates the codes on it; the
 * official fake never clears an error. This mimics the outcome, so the demo and the tests can see
 * a remedy resolve an alert: a new PIN clears the code's own errors and warnings; deleting or
 * converting the unmanaged twin clears the duplicate-PIN error on codes with that PIN; deleting
 * any code frees a slot, clearing slot-full errors on that lock. Device-level problems stay.
 * `snapshot` is the target code's {device_id, code} from before the request (a delete removes it).
 */
const settleAfterChange = (db, path, params, snapshot) => {
  const byId = (id) => db.access_codes.find((ac) => ac.access_code_id === id)
  // A code whose last error Seam clears by re-programming the lock is then on it ("set"), as
  // after a new PIN below (otherwise the bot's "not on the lock yet" check would rightly stay).
  const clear = (code, keep) => {
    const errors = (code.errors ?? []).filter(keep)
    const cleared = errors.length < (code.errors ?? []).length
    db.updateAccessCode({
      access_code_id: code.access_code_id,
      errors,
      warnings: (code.warnings ?? []).filter((w) => keep({ ...w, error_code: w.warning_code })),
      ...(cleared && errors.length === 0 && code.is_managed !== false ? { status: "set" } : {}),
    })
  }
  if (path === "/access_codes/update" && params.code != null) {
    const code = byId(params.access_code_id)
    if (code != null) {
      clear(code, isParentIssue)
      db.updateAccessCode({ access_code_id: code.access_code_id, status: "set" })
    }
    return
  }
  const target = params.access_code_id
  const deviceId = snapshot?.device_id
  if (deviceId == null) return
  const pin = snapshot.code
  if (path === "/access_codes/unmanaged/delete" || path === "/access_codes/unmanaged/convert_to_managed") {
    for (const ac of db.access_codes) {
      if (ac.device_id !== deviceId || ac.access_code_id === target) continue
      const named = (e) => e.unmanaged_access_code_id === target || (pin != null && ac.code === pin)
      clear(ac, (e) => !(e.error_code === "duplicate_code_on_device" && named(e)))
    }
  }
  if (path === "/access_codes/delete" || path === "/access_codes/unmanaged/delete") {
    for (const ac of db.access_codes) {
      if (ac.device_id === deviceId) clear(ac, (e) => !SLOT_ERRORS.has(e.error_code))
    }
  }
}

const state = {
  delays: [], // {seconds, paths: string[] | null, phase: "after" | "before"}
  failures: [], // {status, paths, methods, remaining (null = unlimited), retry_after, body}
  paginate: null, // {page_size, paths, loop}
  calls: [], // {method, path, query, body, at, status, injected}
}

const normalizePaths = (paths) => {
  if (paths == null) return null
  const list = Array.isArray(paths) ? paths : [paths]
  return list.map((p) => (p.startsWith("/") ? p : `/${p}`))
}

const pathMatches = (patterns, path) =>
  patterns == null ||
  patterns.some((p) => (p.endsWith("*") ? path.startsWith(p.slice(0, -1)) : p === path))

const findDelay = (path) => {
  for (let i = state.delays.length - 1; i >= 0; i--) {
    if (pathMatches(state.delays[i].paths, path)) return state.delays[i]
  }
  return null
}

const takeFailure = (method, path) => {
  for (const rule of state.failures) {
    if (rule.remaining !== null && rule.remaining <= 0) continue
    if (!pathMatches(rule.paths, path)) continue
    if (rule.methods != null && !rule.methods.includes(method)) continue
    if (rule.remaining !== null) rule.remaining -= 1
    state.failures = state.failures.filter((r) => r.remaining === null || r.remaining > 0)
    return rule
  }
  return null
}

const failureResult = (rule, requestId) => {
  const headers = { "seam-request-id": requestId }
  if (rule.retry_after != null) headers["retry-after"] = String(rule.retry_after)
  if (rule.body == null) return { status: rule.status, headers, body: Buffer.alloc(0) }
  if (rule.body === "json") {
    const type = DEFAULT_ERROR_TYPES[rule.status] ?? (rule.status >= 500 ? "internal_server_error" : "error")
    const r = seamError(rule.status, type, `Injected failure: HTTP ${rule.status}`)
    return { ...r, headers: { ...r.headers, ...headers } }
  }
  return { status: rule.status, headers: { ...headers, "content-type": "text/plain; charset=utf-8" }, body: Buffer.from(String(rule.body)) }
}

// ---------------------------------------------------------------------------------------------
// Proxy
// ---------------------------------------------------------------------------------------------

const forward = (upstreamPort, req, body) =>
  new Promise((resolve, reject) => {
    const headers = stripHopByHop(req.headers)
    headers.host = `${HOST}:${upstreamPort}`
    if (body.length > 0 || "content-length" in req.headers) headers["content-length"] = String(body.length)
    const upstream = http.request(
      { host: HOST, port: upstreamPort, method: req.method, path: req.url, headers },
      (ures) => {
        const chunks = []
        ures.on("data", (c) => chunks.push(c))
        ures.on("end", () =>
          resolve({ status: ures.statusCode ?? 502, headers: stripHopByHop(ures.headers), body: Buffer.concat(chunks) }),
        )
        ures.on("error", reject)
      },
    )
    upstream.on("error", reject)
    upstream.end(body)
  })

// ---------------------------------------------------------------------------------------------
// Control routes (/_shim/*)
// ---------------------------------------------------------------------------------------------

const makeShimRoutes = (ctx) => ({
  "POST /_shim/delay": (b) => {
    const seconds = Number(b.seconds ?? 0)
    if (!(seconds >= 0)) return jsonResult(400, { ok: false, error: "seconds must be >= 0" })
    if (seconds === 0) {
      state.delays = []
    } else {
      const phase = b.phase ?? "after"
      if (phase !== "after" && phase !== "before" && phase !== "drop") {
        return jsonResult(400, { ok: false, error: 'phase must be "after", "before" or "drop"' })
      }
      state.delays.push({ seconds, paths: normalizePaths(b.paths), phase })
    }
    return jsonResult(200, { ok: true, delays: state.delays })
  },
  "POST /_shim/fail": (b) => {
    const status = Number(b.status ?? 0)
    if (status === 0) {
      state.failures = []
      return jsonResult(200, { ok: true, failures: state.failures })
    }
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      return jsonResult(400, { ok: false, error: "status must be an HTTP status code" })
    }
    state.failures.push({
      status,
      paths: normalizePaths(b.paths),
      methods: b.methods == null ? null : [].concat(b.methods).map((m) => String(m).toUpperCase()),
      remaining: b.count == null ? null : Number(b.count),
      retry_after: b.retry_after ?? null,
      body: b.body ?? null,
    })
    return jsonResult(200, { ok: true, failures: state.failures })
  },
  "POST /_shim/paginate": (b) => {
    const size = Number(b.page_size ?? 0)
    if (!(Number.isInteger(size) && size >= 0)) {
      return jsonResult(400, { ok: false, error: "page_size must be a whole number >= 0" })
    }
    state.paginate = size === 0 ? null : { page_size: size, paths: normalizePaths(b.paths), loop: Boolean(b.loop) }
    return jsonResult(200, { ok: true, paginate: state.paginate })
  },
  "POST /_shim/reset": () => {
    state.delays = []
    state.failures = []
    state.paginate = null
    state.calls = []
    ctx.db.simulateWorkspaceOutageRecovery(ctx.ids.workspace_id)
    return jsonResult(200, { ok: true })
  },
  "POST /_shim/restore": () => {
    const { _counters, ...snapshot } = ctx.snapshot
    ctx.fake.loadJSON(snapshot)
    return jsonResult(200, { ok: true })
  },
  "GET /_shim/calls": () => jsonResult(200, { calls: state.calls }),
  "GET /_shim/scenario": () =>
    jsonResult(200, { port: ctx.port, api_key: API_KEY, workspace_id: ctx.ids.workspace_id, ids: ctx.ids }),
  "POST /_shim/update_access_code": (b) => {
    const { access_code_id, ...patch } = b
    if (access_code_id == null || !ctx.db.access_codes.some((ac) => ac.access_code_id === access_code_id)) {
      return jsonResult(404, { ok: false, error: `access code not found: ${access_code_id}` })
    }
    return jsonResult(200, { ok: true, access_code: ctx.db.updateAccessCode({ access_code_id, ...patch }) })
  },
  "POST /_shim/update_device": (b) => {
    const { device_id, ...patch } = b
    if (device_id == null || !ctx.db.devices.some((d) => d.device_id === device_id)) {
      return jsonResult(404, { ok: false, error: `device not found: ${device_id}` })
    }
    return jsonResult(200, { ok: true, device: ctx.db.updateDevice({ device_id, ...patch }) })
  },
  "POST /_shim/bulk_update": (b) => {
    const kind = b.kind
    if (kind !== "access_codes" && kind !== "devices") {
      return jsonResult(400, { ok: false, error: 'kind must be "access_codes" or "devices"' })
    }
    const patch = b.patch ?? {}
    if (typeof patch !== "object" || Array.isArray(patch)) {
      return jsonResult(400, { ok: false, error: "patch must be an object" })
    }
    if (b.only != null && b.only !== "healthy" && b.only !== "failing") {
      return jsonResult(400, { ok: false, error: 'only must be "healthy" or "failing"' })
    }
    const limit = b.limit == null ? Infinity : Number(b.limit)
    if (!(limit >= 0)) return jsonResult(400, { ok: false, error: "limit must be >= 0" })
    const deviceIds = b.device_ids == null ? null : new Set([].concat(b.device_ids))
    const failing = (row) => (row.errors ?? []).length > 0
    const rows = (kind === "devices" ? ctx.db.devices : ctx.db.access_codes).filter(
      (row) =>
        row.workspace_id === ctx.ids.workspace_id &&
        (deviceIds == null || deviceIds.has(row.device_id)) &&
        (b.only == null || (b.only === "failing") === failing(row)),
    )
    const chosen = rows.slice(0, limit)
    for (const row of chosen) {
      if (kind === "devices") ctx.db.updateDevice({ ...patch, device_id: row.device_id })
      else ctx.db.updateAccessCode({ ...patch, access_code_id: row.access_code_id })
    }
    const key = kind === "devices" ? "device_id" : "access_code_id"
    return jsonResult(200, { ok: true, updated: chosen.length, ids: chosen.map((row) => row[key]) })
  },
  "POST /_shim/add_access_code": (b) => {
    const device = ctx.db.devices.find((d) => d.device_id === b.device_id)
    if (device == null) return jsonResult(404, { ok: false, error: `device not found: ${b.device_id}` })
    const access_code = ctx.db.addAccessCode({
      access_code_id: randomUUID(),
      workspace_id: device.workspace_id,
      name: "Added by test",
      code: String(1000 + Math.floor(Math.random() * 9000)),
      type: b.starts_at != null ? "time_bound" : "ongoing",
      status: "set",
      pending_mutations: [],
      errors: [],
      warnings: [],
      ...b,
    })
    return jsonResult(200, { ok: true, access_code })
  },
})

// Split a list answer into pages (POST /_shim/paginate): page N is requested with page_cursor
// "pN"; a looping server answers every later page with the cursor of page 1 again.
const LIST_KEYS = ["devices", "access_codes"]
const paginateResult = (result, path, body) => {
  const rule = state.paginate
  if (rule == null || !pathMatches(rule.paths, path)) return result
  let payload
  try {
    payload = JSON.parse(result.body.toString("utf8"))
  } catch {
    return result
  }
  const key = LIST_KEYS.find((k) => Array.isArray(payload?.[k]))
  if (key == null) return result
  const cursor = String(body?.page_cursor ?? "")
  const page = /^p\d+$/.test(cursor) ? Number(cursor.slice(1)) : 0
  const items = payload[key]
  const pages = Math.max(1, Math.ceil(items.length / rule.page_size))
  const more = page + 1 < pages
  const next = more ? (rule.loop && page >= 1 ? "p1" : `p${page + 1}`) : null
  payload[key] = items.slice(page * rule.page_size, (page + 1) * rule.page_size)
  payload.pagination = { has_next_page: more, next_page_cursor: next, next_page_url: null }
  const requestId = result.headers["seam-request-id"]
  return jsonResult(200, payload, requestId == null ? {} : { "seam-request-id": requestId })
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const main = async () => {
  const args = parseArgs(process.argv.slice(2))

  const fake = await createFake()
  await fake.seed()
  const db = fake.database
  const large = args.scenario === "large"
  const ids = large ? buildLargeScenario(db, Date.now(), args) : buildScenario(db, Date.now())
  const seamRoutes = large ? { ...SHIMMED_SEAM_ROUTES, ...LARGE_SEAM_ROUTES } : SHIMMED_SEAM_ROUTES
  const ctx = { fake, db, ids, port: 0, snapshot: null }
  ctx.snapshot = await fake.toJSON()

  // Public server first, so the fake's next_page_url can point at the public port.
  let upstreamPort = 0
  const shimRoutes = makeShimRoutes(ctx)

  const handler = async (req, res) => {
    const url = new URL(req.url ?? "/", `http://${HOST}`)
    const path = url.pathname
    const body = await readBody(req)

    if (path.startsWith("/_shim/")) {
      const route = shimRoutes[`${req.method} ${path}`]
      if (route == null) return writeResult(res, jsonResult(404, { ok: false, error: `no shim route ${req.method} ${path}` }))
      const parsed = parseJson(body)
      if (parsed === undefined) return writeResult(res, jsonResult(400, { ok: false, error: "body is not JSON" }))
      return writeResult(res, route(parsed ?? {}))
    }
    if (path.startsWith("/_fake/")) return writeResult(res, await forward(upstreamPort, req, body))

    // A Seam API request: log it, then apply injected delays/failures.
    const parsedBody = parseJson(body)
    const call = {
      method: req.method,
      path,
      query: queryToObject(url.searchParams),
      body: parsedBody === undefined ? body.toString("utf8") : parsedBody,
      at: Date.now() / 1000,
      status: null,
      injected: false,
    }
    state.calls.push(call)
    const started = Date.now()
    const delay = findDelay(path)
    if (delay?.phase === "before") await sleep(delay.seconds * 1000)
    if (delay?.phase === "drop") {
      const gone = new Promise((resolve) => res.once("close", () => resolve(true)))
      if (await Promise.race([gone, sleep(delay.seconds * 1000).then(() => false)])) {
        call.status = "dropped"
        return undefined
      }
    }

    const targetId = { ...call.query, ...(parsedBody ?? {}) }.access_code_id
    const before = db.access_codes.find((ac) => ac.access_code_id === targetId)
    const snapshot = before == null ? null : { device_id: before.device_id, code: before.code }
    let result
    const rule = takeFailure(req.method, path)
    if (rule != null) {
      result = failureResult(rule, db.getNextRequestId())
      call.injected = true
    } else {
      // Pages are the shim's own when it paginates: the fake sees the whole-list request.
      const paging = state.paginate != null && pathMatches(state.paginate.paths, path)
      const { page_cursor: _cursor, ...unpaged } = parsedBody ?? {}
      const sentBody = paging && parsedBody != null ? unpaged : parsedBody
      const sentRaw = paging && parsedBody != null ? Buffer.from(JSON.stringify(unpaged)) : body
      result =
        path in seamRoutes
          ? handleShimmedSeamRoute(db, seamRoutes[path], req, path, call.query, sentBody)
          : await forward(upstreamPort, req, sentRaw)
    }
    if (!call.injected && result.status === 200) result = paginateResult(result, path, parsedBody)
    call.status = result.status
    if (!call.injected && result.status === 200) {
      settleAfterChange(db, path, { ...call.query, ...(parsedBody ?? {}) }, snapshot)
    }
    if (delay?.phase === "after") {
      const remaining = delay.seconds * 1000 - (Date.now() - started)
      if (remaining > 0) await sleep(remaining)
    }
    return writeResult(res, result)
  }

  const server = http.createServer((req, res) => {
    handler(req, res).catch((err) => {
      process.stderr.write(`fake_seam: handler error: ${err?.stack ?? err}\n`)
      if (!res.headersSent) writeResult(res, seamError(502, "bad_gateway", String(err?.message ?? err)))
      else res.destroy()
    })
  })
  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(args.port, HOST, resolve)
  })
  const port = server.address().port
  ctx.port = port

  // nsm's runServer calls server.listen(port, cb) with no host, i.e. every interface. Bind it to
  // loopback instead while it starts.
  const originalListen = http.Server.prototype.listen
  http.Server.prototype.listen = function (...listenArgs) {
    if (typeof listenArgs[0] === "number" && typeof listenArgs[1] === "function") {
      return originalListen.call(this, listenArgs[0], HOST, listenArgs[1])
    }
    return originalListen.apply(this, listenArgs)
  }
  let fakeServer
  try {
    fakeServer = await fake.startServer({ port: 0, baseUrl: `http://${HOST}:${port}` })
  } finally {
    http.Server.prototype.listen = originalListen
  }
  upstreamPort = fakeServer.server.address().port

  let stopping = false
  const shutdown = (code = 0) => {
    if (stopping) return
    stopping = true
    server.close()
    server.closeAllConnections?.()
    fakeServer.server.closeAllConnections?.()
    fake.stopServer().finally(() => process.exit(code))
    setTimeout(() => process.exit(code), 1000).unref()
  }
  process.on("SIGTERM", () => shutdown(0))
  process.on("SIGINT", () => shutdown(0))
  if (args.exitOnStdinClose) {
    process.stdin.on("end", () => shutdown(0))
    process.stdin.on("close", () => shutdown(0))
    process.stdin.on("error", () => shutdown(0))
    process.stdin.resume()
  }

  writeStdout(`${JSON.stringify({ ready: true, port, api_key: API_KEY, workspace_id: ids.workspace_id, ids })}\n`)
}

main().catch((err) => {
  process.stderr.write(`fake_seam: failed to start: ${err?.stack ?? err}\n`)
  process.exit(1)
})
