# renkei console, admin pages: English (the Japanese twin is ../ja/admin.ftl).

admin-title = Administration
admin-intro = The secretariat's work: member organisations, tokens, the moderation policy, allowlists, federation links and the audit log.
admin-save = Save
admin-yes = Yes
admin-no = No
admin-never = never
admin-col-actions = Actions

admin-done-org-added = The organisation was added.
admin-done-trust-set = The trust level was changed.
admin-done-token-revoked = The token was revoked; its console sessions have ended.
admin-done-policy-saved = The moderation policy was replaced.
admin-done-allowlist-imported = The allowlist was saved.
admin-done-allowlist-removed = The allowlist was removed.

admin-trust-new = New
admin-trust-standard = Standard
admin-trust-trusted = Trusted

# Organisations
admin-orgs-title = Organisations
admin-orgs-about = member organisations, coordinator organisations and their trust levels
admin-orgs-list = Registered organisations
admin-orgs-none = No organisations yet.
admin-col-org = Organisation
admin-col-sector = Sector
admin-col-coordinator = Coordinator
admin-col-trust = Trust level
admin-org-trust-change = Change to
admin-org-add = Add an organisation
admin-org-name = Name
admin-org-sector-hint = For example energy, finance, telecommunications, transport.
admin-org-coordinator = Kind of organisation
admin-org-member = Member organisation
admin-org-is-coordinator = Coordinator organisation (the ISAC secretariat; may hold coordinator tokens)
admin-org-trust-hint = The moderation policy decides by trust level whether a submission waits for a coordinator.
admin-org-add-submit = Add organisation

# Tokens
admin-tokens-title = Tokens
admin-tokens-about = issue and revoke tokens, and one-time codes to register a second factor
admin-tokens-list = Issued tokens
admin-tokens-none = No tokens yet.
admin-col-token-id = Token ID
admin-col-role = Role
admin-col-token-name = Holder
admin-col-created = Issued
admin-col-expires = Expires
admin-col-revoked = Revoked
admin-col-grants = Additional grants
admin-grant-indicators = may read indicators (for procurement tokens)
admin-token-no-expiry = no expiry
admin-token-active = active
admin-token-issue = Issue a token
admin-token-role-hint = Coordinator tokens are only for coordinator organisations. Peer hub tokens come with a federation link.
admin-token-name-optional = Holder (optional: the person or system; shown in the audit log)
admin-token-name-hint = Up to 100 characters.
admin-token-expires-optional = Expires on (optional)
admin-token-expires-hint = The token stops working at the start of that day (UTC). Leave empty for no expiry.
admin-token-issue-submit = Issue token
admin-token-revoke = Revoke
admin-token-revoke-hint = Revoking takes effect at once, also for the holder's open console sessions.
admin-token-enrol = Issue enrolment code
admin-token-issued-title = Token issued
admin-token-issued-intro = Give this token to its holder over a secure channel.
admin-token-secret = Token
admin-secret-once = Copy it now: it will not be shown again. The hub keeps only a digest of it.
admin-token-issued-enrol = A coordinator must register a second factor before using the console. Issue a one-time enrolment code for this token and give it to the holder separately.
admin-back-tokens = Back to the tokens
admin-enrolment-title = One-time enrolment code
admin-enrolment-intro = { $n ->
    [one] With this code the token's holder registers a first second factor (security key or authenticator app) in the console. It is valid for { $n } hour and only once; a new code replaces an older one.
   *[other] With this code the token's holder registers a first second factor (security key or authenticator app) in the console. It is valid for { $n } hours and only once; a new code replaces an older one.
}
admin-enrolment-code = Enrolment code

# Moderation policy
admin-policy-title = Moderation policy
admin-policy-about = which submissions wait for a coordinator
admin-policy-intro = Each submission is checked against the rules in order; the first rule that matches decides. If none matches, the default applies.
admin-policy-rules = Rules in force
admin-policy-organizations = Organisations
admin-policy-action = Then
admin-policy-default = Otherwise (default)
admin-policy-any = any
admin-policy-coordinator-orgs = coordinator organisations
admin-policy-member-orgs = member organisations
admin-action-publish = publish at once
admin-action-queue = wait for a coordinator
admin-policy-red = TLP:RED submissions are never queued, whatever the rules say.
admin-policy-replace = Replace the policy
admin-policy-text = Policy (JSON)
admin-policy-text-hint = default and action: "publish" or "queue". In each rule, trust: "new", "standard", "trusted"; kinds: "indicator", "technique", "incident", "advisory", "assessment"; tlp: "TLP:CLEAR" … "TLP:AMBER+STRICT"; coordinator_org: true or false. An empty or missing list matches anything.
admin-policy-submit = Replace policy

# Allowlists
admin-allowlists-title = Allowlists
admin-allowlists-about = values that must not be shared as indicators (false positives)
admin-allowlists-intro = Indicators on an allowlist are refused when shared (a member may send them to a coordinator instead).
admin-allowlists-builtin = The built-in list (private ranges, public resolvers and the like) also applies; it is not listed here.
admin-allowlists-list = Stored lists
admin-allowlists-none = No stored lists.
admin-col-list = List name
admin-col-entries = Entries
admin-allowlist-remove = Remove
admin-allowlist-remove-confirm = Confirm
admin-allowlist-import = Add or replace a list
admin-allowlist-entries = Entries, one per line
admin-allowlist-entries-hint = An address (198.51.100.7), a range (192.0.2.0/24, 2001:db8::/32), a domain (example.jp), a domain and all its subdomains (*.example.jp), or an MD5, SHA-1 or SHA-256 hash. # starts a comment.
admin-allowlist-replaces = A list with the same name is replaced by these entries; to add entries to a list, include its current entries. If any line is not an entry, nothing is stored.
admin-allowlist-import-submit = Save list

# Federation links
admin-peers-title = Federation links
admin-peers-about = peer hubs, how far behind pulling stands, and what was refused
admin-peers-intro = Links are added and removed by the hub operator (renkei-hub peer). Behind by: the peer's newest entry minus the last one pulled.
admin-col-url = Address
admin-col-max-label = Highest label
admin-col-direction = Direction
admin-col-received = Received
admin-col-last-attempt = Last attempt
admin-peer-community = community
admin-direction-pull = pull
admin-direction-push = push
admin-direction-both = pull and push

# Audit log
admin-audit-title = Audit log
admin-audit-about = who did what, with the chain's integrity checked
admin-audit-intro = Newest first. Where the actor of an entry is the anonymous submitter of an item you may not know the submitter of, the actor is withheld.
admin-audit-none = No entries.
admin-audit-empty = The audit log is empty.
admin-audit-verified = The chain verifies: entries 1 to { $n } are intact.
admin-audit-broken = The chain is broken at entry { $n }: { $reason }. Tell the hub operator (renkei-hub audit verify).
admin-audit-reason-missing = the entry is missing
admin-audit-reason-link = the link to the previous entry is broken
admin-audit-reason-content = its content does not match its keyed hash
admin-audit-withheld = (withheld)
admin-audit-operator = hub operator
admin-audit-newest = Newest entries
admin-audit-older = Older entries
admin-col-when = When
admin-col-actor = Actor
admin-col-action = Action
admin-col-target = Target
admin-col-detail = Detail
admin-col-source = Source address
admin-audit-not-verified = The chain is verified on request (it reads the whole log).
admin-audit-verify = Verify the chain now
admin-audit-verifying = The chain is being verified; reload the page in a moment.
