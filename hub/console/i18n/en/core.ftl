# renkei console: English. Every message here has its Japanese twin in ja.ftl (a test
# checks both files have the same ids).

skip-to-content = Skip to content
nav-label = Main
nav-dashboard = Dashboard
nav-moderation = Moderation
nav-search = Search
nav-share = Share
nav-submissions = My submissions
nav-suppliers = Suppliers
nav-admin = Administration
nav-account = Account
nav-sign-out = Sign out
lang-switch = 日本語

role-coordinator = coordinator
role-analyst = analyst
role-procurement = procurement
role-peer = peer hub

kind-indicator = Indicator
kind-technique = Technique
kind-incident = Incident
kind-advisory = Advisory
kind-assessment = Supplier assessment

status-pending = Pending review
status-published = Published
status-rejected = Rejected
status-revoked = Revoked

error-title = Something went wrong
error-code = Code
error-back = Back to the console

sign-in-title = Sign in
sign-in-intro = Sign in with the token your hub operator issued to you. Coordinators then confirm with a security key or a one-time code.
sign-in-token = Token
sign-in-submit = Sign in

second-factor-title = Confirm it is you
second-factor-intro = Use your security key, or enter the code from your authenticator app.
factor-webauthn = Security key
factor-totp = Authenticator app (one-time code)
factor-kind = Kind
factor-label = Name
factor-added = Added
webauthn-use-key = Use security key
webauthn-failed = The security key did not confirm the sign-in.
webauthn-unsupported = This browser cannot use security keys; use a one-time code.
totp-code = Six-digit code
totp-submit = Confirm

enrol-title = Register a second factor
enrol-intro = Coordinators sign in with a second factor. Enter the one-time enrolment code your hub operator gave you, then register a security key (preferred) or an authenticator app.
enrol-code = One-time enrolment code
enrol-key-intro = Insert or touch your security key when the browser asks.
enrol-key-default = Security key
enrol-key-submit = Register security key
enrol-totp-intro = Add this secret to your authenticator app, then enter the code it shows.
enrol-totp-default = Authenticator app
enrol-totp-submit = Register app
account-title = Account and second factors
account-intro = Your registered second factors. Add another in case one is lost.
account-factors = Registered second factors

search-title = Search indicators
search-label = Values to look up (one per line; defanged values such as hxxp://example[.]jp are fine)
search-hint = { $n ->
    [one] Up to { $n } value per search.
   *[other] Up to { $n } values per search.
}
search-submit = Search
search-found = { $n ->
    [one] { $n } value matched
   *[other] { $n } values matched
}
search-input = Value
search-matches = Matches
search-no-match = No match you may read

item-id = ID
item-submitter = Shared by
item-submitter-withheld = (withheld)
item-recipients = Recipients (TLP:RED)
item-valid-until = Valid until
item-labels = Labels
item-sealed = Sealed
item-sealed-note = Sealed TLP:RED: the content is encrypted to its recipients' keys and the hub cannot read it. Recipients open it in the renkei client.
item-revision = version
item-status-reason = Reason
item-sightings = Sightings
sightings-organizations = Organisations that saw it
sightings-total = Reported count
sightings-first = First seen
sightings-last = Last seen
sightings-false-positive = Organisations reporting a false positive
sightings-none = No sightings reported yet.
sighting-report = Report
sighting-seen = We saw this
sighting-false-positive = False positive
sighting-count = How many times
sighting-submit = Send report

share-title = Share indicators
share-intro = Paste indicators, one per line (defanged values are refanged). Each line's type is recognised; write filename: before a file name, or any type name to choose it (domain:example.jp). A line that is not an indicator stops the whole list.
share-values = Indicators
share-values-hint = { $n ->
    [one] Up to { $n } indicator at once.
   *[other] Up to { $n } indicators at once.
}
share-description = Description (applies to every line; optional)
share-tlp = Label (TLP 2.0): who will see it
audience-clear = anyone, without limit
audience-green = the community: every member of this hub and linked communities
audience-amber = member organisations and the clients they need to protect
audience-amber-strict = member organisations only, not their clients
audience-red = only the organisations you tick below, by name
share-recipients = Recipients for TLP:RED
share-recipients-hint = Tick each organisation that may read a TLP:RED item. Ignored for other labels.
share-anonymous = Hide my organisation's name from other members
share-summary = Before sharing: the label you chose decides who reads these items (above). A submission from a new organisation waits for a coordinator; TLP:RED is never queued.
share-submit = Continue: check who will read it

submissions-title = My submissions
submissions-shared = Shared. Items waiting for a coordinator show as pending review.
submissions-none = Nothing shared yet.
col-label = Label
col-kind = Kind
col-item = Item
col-status = Status
col-reason = Reason
col-submitter = Submitted by
col-queued-because = Queued because
col-count = Count

dashboard-title = Dashboard
dashboard-queue = Waiting for moderation
dashboard-restricted = TLP:RED items you are not named on
dashboard-sessions = Console sessions open
dashboard-today = Shared today
dashboard-today-none = Nothing shared today.
dashboard-today-capped = Only the newest items are counted.
dashboard-peers = Peer hubs
dashboard-peers-none = No peer links.
peer-name = Link
peer-lag = Behind by
peer-refused = Refused
peer-last-success = Last pulled
peer-last-error = Last error

moderation-title = Moderation queue
moderation-empty = Nothing is waiting.
moderation-more = More are waiting; decide these first.
decided-approved = Approved and published.
decided-rejected = Rejected; the submitter sees the reason.
restricted-title = TLP:RED items you are not named on
restricted-intro = You see that they exist, never their content.
restricted-none = None.
changes-title = Approve with changes
changes-strip = Remove these fields:
changes-redact = Passages to redact (one per line; each becomes [REDACTED])
changes-tlp = Tighten the label
changes-tlp-keep = Keep the label
preview-title = Preview of the approved item
decision-preview = Preview changes
decision-approve = Approve
decision-reason = Reason for rejection (the submitter sees it)
decision-reject = Reject

suppliers-title = Suppliers
suppliers-search-label = Supplier name (Japanese or English) or corporate number (法人番号)
suppliers-none = No supplier matches.
supplier-name-ja = Name (Japanese)
supplier-name-en = Name (English)
supplier-corporate-number = Corporate number
supplier-assessments = Assessments the rating was computed from
supplier-no-assessments = No assessment you may read.
supplier-offerings = Products and services
supplier-no-offerings = None registered.
supplier-history = Rating history
supplier-history-chart = Score over time
supplier-no-history = No changes yet.
history-when = When
history-why = Why
rating-title = Rating
rating-score = Score
rating-tier = Tier
rating-coverage = Coverage
rating-freshness = Newest assessment
rating-assessors = Assessors
rating-flags = Flags
rating-no-flags = none
rating-explained = The score is the weighted mean of the criteria below (handbook 6.4), each the consensus of the assessments you may read; coverage is the weighted share of criteria with a valid result.
rating-criteria = Criteria (handbook 6.4)
criterion-id = Criterion
criterion-text = Question
criterion-value = Value (0–100)
criterion-assurance = Best assurance
criterion-contested = contested
days = { $n ->
    [one] { $n } day ago
   *[other] { $n } days ago
}

flag-STALE = stale
flag-CONTESTED = assessors disagree
flag-INSUFFICIENT_COVERAGE = too little covered
flag-BLOCKER_OPEN = blocker finding open
assurance-automated = automated tool
assurance-selfattested = self-attested
assurance-questionnairereviewed = questionnaire reviewed by a member
assurance-technicaltest = technical test or visit
assurance-independentcertification = independent certification

field-value = Value
field-indicator_type = Type
field-description = Description
field-attack_id = ATT&CK ID
field-name = Name
field-tactics = Tactics
field-narrative = What happened
field-platforms = Platforms
field-ics_asset_types = ICS asset types
field-title = Title
field-summary = Summary
field-sector = Sector
field-occurred_at = Occurred at
field-service_impact = Service impact
field-impact_description = Impact
field-technique_ids = Techniques
field-indicator_refs = Indicators
field-supplier_refs = Suppliers
field-cve_id = CVE
field-affected = Affected products
field-cvss_vector = CVSS vector
field-cvss_base_score = CVSS base score
field-exploitation = Exploitation
field-fixes = Fixes
field-workarounds = Workarounds
field-supplier_id = Supplier
field-offering_ids = Offerings
field-scheme_id = Scheme
field-scheme_version = Scheme version
field-assessor = Assessor
field-assessor_name = Assessor name
field-assurance = Assurance
field-observed = Observed
field-results = Results
field-findings = Findings
field-conclusion = Conclusion
field-posture = Posture

share-kinds = What to share
share-technique-title = Share an attack technique
share-incident-title = Report an incident
share-advisory-title = Share a vulnerability advisory
share-pick-technique = ATT&CK technique (from the loaded catalog)
share-no-catalog = No ATT&CK catalog is loaded on this hub; type the technique id.
share-technique-ids = ATT&CK techniques used (ids, comma-separated)
share-indicator-ids = Related indicators (item ids, one per line; each must be shared at least as widely)
share-affected = Affected products (one CPE 2.3 name per line)
attack-domain-enterprise-attack = Enterprise
attack-domain-ics-attack = ICS (industrial control systems)
attack-domain-mobile-attack = Mobile
impact-none = No impact on the service
impact-degraded = Degraded
impact-disrupted = Disrupted
impact-outage = Outage
exploitation-unknown = Not assessed
exploitation-not_known = No known exploitation
exploitation-poc_public = Proof of concept public
exploitation-known_exploited = Exploited in the wild
change-label = Label { $from } becomes { $to }
change-stripped = Field removed: { $field }
change-redacted = { $n ->
    [one] { $n } passage redacted
   *[other] { $n } passages redacted
}
change-removed-label = Label removed: { $label }
item-related = Indicators named in this incident
item-history = Versions
item-revision-col = Version
nav-exports = Exports
exports-title = Exports
exports-intro = Download what you may read: live indicators as text, CSV or Suricata rules, or a STIX 2.1 bundle. The same files as /export/ with a token.
exports-indicators = Indicators
exports-format = Format
exports-format-text = Plain text (one value per line)
exports-format-suricata = Suricata rules
exports-all-types = All types
exports-min-score = Lowest score (0–100)
exports-stix = STIX 2.1 bundle
exports-all-kinds = All kinds
exports-download = Download
dashboard-ratings = Recent supplier rating changes
dashboard-ratings-none = No rating changes yet.
share-confirm-title = Check before sharing
share-confirm-heading = What will be shared, and who will read it
share-confirm-count = { $n ->
    [one] { $n } item
   *[other] { $n } items
}
share-confirm-readers = Readers
audience-red-named = only the organisations named below, and nobody else
share-confirm-queued = A coordinator reviews it before anyone else reads it
share-confirm-published = Published at once, to the readers above.
share-confirm-anonymous = Your organisation's name is hidden from other members (coordinators still see it).
share-confirm-more = { $n ->
    [one] and { $n } more
   *[other] and { $n } more
}
share-confirm-submit = Share now
share-confirm-edit = Back to the form
supplier-compare = Compare with others
supplier-chain = Supply chain
supplier-assess = Submit an assessment
suppliers-compare-these = Compare the first of these side by side
assessor-member = assessed by a member organisation
assessor-supplier = the supplier's self-assessment
assessor-third_party = assessed by an audit or assessment firm
assessor-automated = an automated tool's findings

sealed-tab = TLP:RED sealed
sealed-title = Share sealed TLP:RED
sealed-intro = Sealed TLP:RED content is encrypted by your renkei client to every key of every recipient before it leaves your machine: neither this hub nor your browser ever sees it. This page only carries the sealed envelope to the hub.
sealed-step-seal = Seal it on your machine with the client, which writes the sealed share to FILE instead of sending it:
sealed-step-upload = Then choose FILE below (or paste its content) and share it.
sealed-file = Sealed share file (written by --envelope-out)
sealed-paste = Or paste the file's content
sealed-limit = { $n ->
    [one] At most { $n } MiB.
   *[other] At most { $n } MiB.
}
sealed-never-read = The hub checks the envelope is sealed to exactly the recipients' current keys (and yours, unless anonymous) and stores it as it is; if a key changed it refuses with SEALED_KEYS_MISMATCH: seal again.
sealed-submit = Share the sealed items
sealed-shared = { $n ->
    [one] { $n } sealed item shared
   *[other] { $n } sealed items shared
}
share-red-sealed-hint = For TLP:RED to organisations that have encryption keys, the hub requires sealed content: seal it with `renkei share … --envelope-out FILE` and upload FILE on the sealed TLP:RED page (/console/share/sealed).
