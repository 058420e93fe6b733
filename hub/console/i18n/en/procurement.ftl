# renkei console, procurement pages: English (the Japanese twin is ../ja/procurement.ftl).
# Comparison, supply chain and assessment form (handbook 6.4, supply-chain risk).

## Comparing suppliers

procure-compare-title = Compare suppliers
procure-compare-intro = Up to five suppliers side by side: each rating as you see it (computed only from the assessments you may read) and the value of each handbook 6.4 criterion.
procure-compare-empty = No supplier chosen yet. Search for one below, or enter its supplier ID.
procure-compare-table = Ratings and criteria side by side
procure-compare-row = Item
procure-compare-links = More
procure-compare-remove = Remove from the comparison
procure-compare-add = Add a supplier
procure-compare-add-link = Add
procure-compare-full = Five suppliers are being compared. Remove one to add another.
procure-compare-id-label = Or the supplier ID
procure-compare-submit = Add to the comparison
procure-compare-results = Suppliers found
procure-not-assessed = not assessed
procure-supplier-link = Supplier page
procure-chain-link = Supply chain
procure-assess-link = Submit an assessment

## Supply chain

procure-chain-title = Supply chain: { $name }
procure-chain-intro = { $n ->
    [one] The supplier's products and services, and the subcontractors each relies on, followed { $n } level deep. A subcontractor you may not see is shown without its name.
   *[other] The supplier's products and services, and the subcontractors each relies on, followed { $n } levels deep. A subcontractor you may not see is shown without its name.
}
procure-chain-graph-heading = Diagram
procure-chain-graph = Supply chain of { $name }: products and services, and the subcontractors each relies on
procure-chain-list = The same chain as a list
procure-chain-hidden = Not visible to you
procure-chain-cycle = loops back to a supplier above
procure-chain-shown = shown above
procure-chain-deeper = the chain continues: open this supplier's chain
procure-chain-truncated = The chain is longer than shown here; open a subcontractor's own chain to follow it further.
procure-proposed = proposal
procure-kind-software = software
procure-kind-ot_device = OT device
procure-kind-cloud_service = cloud service
procure-kind-managed_service = managed service
procure-kind-maintenance = maintenance
procure-kind-integration = system integration

## Assessment form

procure-assess-title = Assess { $name }
procure-assess-intro = Answer each handbook 6.4 criterion on the 0–4 scale (0 not in place … 4 fully in place), or mark it not applicable. Criteria left "not assessed" are not part of this assessment. The score is never typed in: it is computed from the answers.
procure-assess-scheme = Scheme
procure-assess-scheme-version = version
procure-assess-criteria = Criteria
procure-assess-answer = Answer
procure-assess-comment = Comment
procure-assess-comment-for = Comment on
procure-answer-none = — not assessed
procure-answer-0 = 0 — not in place
procure-answer-1 = 1 — just started
procure-answer-2 = 2 — partly in place
procure-answer-3 = 3 — largely in place
procure-answer-4 = 4 — fully in place
procure-answer-na = not applicable
procure-assess-about = About this assessment
procure-choose = Choose…
procure-assess-assessor = Who assessed
procure-assessor-member = our organisation
procure-assessor-supplier = the supplier itself (self-assessment)
procure-assessor-third_party = an audit or assessment firm
procure-assessor-automated = an automated tool
procure-assess-assessor-name = Assessor's name (optional, e.g. the audit firm)
procure-assess-assurance = Assurance: how the answers are backed
procure-assess-observed = Date assessed
procure-assess-valid-until = { $n ->
    [one] Valid until (optional; by default { $n } day after the date assessed)
   *[other] Valid until (optional; by default { $n } days after the date assessed)
}
procure-assess-conclusion = Conclusion
procure-conclusion-ok = no concern
procure-conclusion-warning = concerns to follow up
procure-conclusion-blocker = blocker: do not procure as is
procure-conclusion-not_applicable = not applicable
procure-assess-evidence = Evidence: the SHA-256 of each document, one per line, optionally followed by its kind (certificate, audit_report, pen_test, sbom, policy, other)
procure-assess-evidence-hint = Each document is recorded for every criterion answered on the 0–4 scale. Only the hash is shared, never the document.
procure-assess-offerings = Products and services assessed (optional)
procure-assess-sharing = Who may read it
procure-assess-summary = Before submitting: the label decides who reads this assessment, and only the ratings those readers see take it into account.
procure-assess-submit = Submit assessment
