#!/usr/bin/env python3
"""Generates the framework catalogs the client ships (OSCAL 1.1.2 catalog JSON) and the
mappings between them, from the compact tables below, so the data stays reviewable here
and the JSON is never edited by hand.

    python3 ops/catalogs/build.py          # (re)write client/catalogs/**.json
    python3 ops/catalogs/build.py --check  # fail if the files on disk differ from the tables
    PY ops/catalogs/build.py --check --trestle  # and validate every catalog with
                                                # compliance-trestle (PY: a venv that has it)

Output is reproducible byte for byte: uuid5 ids from a fixed namespace, a fixed
last-modified, sorted nothing (table order is the publisher's order), fixed JSON layout.
Every mapping's source and target label must exist in its catalog, or the build fails.
"""

import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "client" / "catalogs"
# Fixed namespace: changing it changes every uuid in every shipped catalog.
NAMESPACE = uuid.UUID("6f1c2a9e-5d0b-4c3e-9a51-2b7d8e4f0c13")
LAST_MODIFIED = "2026-12-07T00:00:00+00:00"
OSCAL_VERSION = "1.1.2"


def uid(*parts):
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def rows(block):
    """Non-empty lines of a table split on '|', fields stripped; '#' lines are comments."""
    out = []
    for line in block.strip().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append([f.strip() for f in line.split("|")])
    return out


def oscal_id(label):
    """An OSCAL token from an official label: lower case; a leading digit gets a prefix."""
    token = label.lower().replace(" ", "-")
    return token if token[0].isalpha() else "n" + token


# ---------------------------------------------------------------------------------------
# NIST CSF 2.0 (NIST CSWP 29, 26 Feb 2024). US government work, not subject to copyright:
# the full text of functions, categories and subcategories is shipped.
# F = function, C = category, S = subcategory. Japanese titles are renkei's own
# translations (the same as client/src/csf.rs), not an official translation.
# ---------------------------------------------------------------------------------------
CSF = """
F|GV|Govern|統治|The organization's cybersecurity risk management strategy, expectations, and policy are established, communicated, and monitored
C|GV.OC|Organizational Context|組織の状況|The circumstances — mission, stakeholder expectations, dependencies, and legal, regulatory, and contractual requirements — surrounding the organization's cybersecurity risk management decisions are understood
S|GV.OC-01|The organizational mission is understood and informs cybersecurity risk management
S|GV.OC-02|Internal and external stakeholders are understood, and their needs and expectations regarding cybersecurity risk management are understood and considered
S|GV.OC-03|Legal, regulatory, and contractual requirements regarding cybersecurity — including privacy and civil liberties obligations — are understood and managed
S|GV.OC-04|Critical objectives, capabilities, and services that external stakeholders depend on or expect from the organization are understood and communicated
S|GV.OC-05|Outcomes, capabilities, and services that the organization depends on are understood and communicated
C|GV.RM|Risk Management Strategy|リスクマネジメント戦略|The organization's priorities, constraints, risk tolerance and appetite statements, and assumptions are established, communicated, and used to support operational risk decisions
S|GV.RM-01|Risk management objectives are established and agreed to by organizational stakeholders
S|GV.RM-02|Risk appetite and risk tolerance statements are established, communicated, and maintained
S|GV.RM-03|Cybersecurity risk management activities and outcomes are included in enterprise risk management processes
S|GV.RM-04|Strategic direction that describes appropriate risk response options is established and communicated
S|GV.RM-05|Lines of communication across the organization are established for cybersecurity risks, including risks from suppliers and other third parties
S|GV.RM-06|A standardized method for calculating, documenting, categorizing, and prioritizing cybersecurity risks is established and communicated
S|GV.RM-07|Strategic opportunities (i.e., positive risks) are characterized and are included in organizational cybersecurity risk discussions
C|GV.RR|Roles, Responsibilities, and Authorities|役割、責任、権限|Cybersecurity roles, responsibilities, and authorities to foster accountability, performance assessment, and continuous improvement are established and communicated
S|GV.RR-01|Organizational leadership is responsible and accountable for cybersecurity risk and fosters a culture that is risk-aware, ethical, and continually improving
S|GV.RR-02|Roles, responsibilities, and authorities related to cybersecurity risk management are established, communicated, understood, and enforced
S|GV.RR-03|Adequate resources are allocated commensurate with the cybersecurity risk strategy, roles, responsibilities, and policies
S|GV.RR-04|Cybersecurity is included in human resources practices
C|GV.PO|Policy|ポリシー|Organizational cybersecurity policy is established, communicated, and enforced
S|GV.PO-01|Policy for managing cybersecurity risks is established based on organizational context, cybersecurity strategy, and priorities and is communicated and enforced
S|GV.PO-02|Policy for managing cybersecurity risks is reviewed, updated, communicated, and enforced to reflect changes in requirements, threats, technology, and organizational mission
C|GV.OV|Oversight|監督|Results of organization-wide cybersecurity risk management activities and performance are used to inform, improve, and adjust the risk management strategy
S|GV.OV-01|Cybersecurity risk management strategy outcomes are reviewed to inform and adjust strategy and direction
S|GV.OV-02|The cybersecurity risk management strategy is reviewed and adjusted to ensure coverage of organizational requirements and risks
S|GV.OV-03|Organizational cybersecurity risk management performance is evaluated and reviewed for adjustments needed
C|GV.SC|Cybersecurity Supply Chain Risk Management|サプライチェーンリスク管理|Cyber supply chain risk management processes are identified, established, managed, monitored, and improved by organizational stakeholders
S|GV.SC-01|A cybersecurity supply chain risk management program, strategy, objectives, policies, and processes are established and agreed to by organizational stakeholders
S|GV.SC-02|Cybersecurity roles and responsibilities for suppliers, customers, and partners are established, communicated, and coordinated internally and externally
S|GV.SC-03|Cybersecurity supply chain risk management is integrated into cybersecurity and enterprise risk management, risk assessment, and improvement processes
S|GV.SC-04|Suppliers are known and prioritized by criticality
S|GV.SC-05|Requirements to address cybersecurity risks in supply chains are established, prioritized, and integrated into contracts and other types of agreements with suppliers and other relevant third parties
S|GV.SC-06|Planning and due diligence are performed to reduce risks before entering into formal supplier or other third-party relationships
S|GV.SC-07|The risks posed by a supplier, their products and services, and other third parties are understood, recorded, prioritized, assessed, responded to, and monitored over the course of the relationship
S|GV.SC-08|Relevant suppliers and other third parties are included in incident planning, response, and recovery activities
S|GV.SC-09|Supply chain security practices are integrated into cybersecurity and enterprise risk management programs, and their performance is monitored throughout the technology product and service life cycle
S|GV.SC-10|Cybersecurity supply chain risk management plans include provisions for activities that occur after the conclusion of a partnership or service agreement
F|ID|Identify|識別|The organization's current cybersecurity risks are understood
C|ID.AM|Asset Management|資産管理|Assets (e.g., data, hardware, software, systems, facilities, services, people) that enable the organization to achieve business purposes are identified and managed consistent with their relative importance to organizational objectives and the organization's risk strategy
S|ID.AM-01|Inventories of hardware managed by the organization are maintained
S|ID.AM-02|Inventories of software, services, and systems managed by the organization are maintained
S|ID.AM-03|Representations of the organization's authorized network communication and internal and external network data flows are maintained
S|ID.AM-04|Inventories of services provided by suppliers are maintained
S|ID.AM-05|Assets are prioritized based on classification, criticality, resources, and impact on the mission
S|ID.AM-07|Inventories of data and corresponding metadata for designated data types are maintained
S|ID.AM-08|Systems, hardware, software, services, and data are managed throughout their life cycles
C|ID.RA|Risk Assessment|リスクアセスメント|The cybersecurity risk to the organization, assets, and individuals is understood by the organization
S|ID.RA-01|Vulnerabilities in assets are identified, validated, and recorded
S|ID.RA-02|Cyber threat intelligence is received from information sharing forums and sources
S|ID.RA-03|Internal and external threats to the organization are identified and recorded
S|ID.RA-04|Potential impacts and likelihoods of threats exploiting vulnerabilities are identified and recorded
S|ID.RA-05|Threats, vulnerabilities, likelihoods, and impacts are used to understand inherent risk and inform risk response prioritization
S|ID.RA-06|Risk responses are chosen, prioritized, planned, tracked, and communicated
S|ID.RA-07|Changes and exceptions are managed, assessed for risk impact, recorded, and tracked
S|ID.RA-08|Processes for receiving, analyzing, and responding to vulnerability disclosures are established
S|ID.RA-09|The authenticity and integrity of hardware and software are assessed prior to acquisition and use
S|ID.RA-10|Critical suppliers are assessed prior to acquisition
C|ID.IM|Improvement|改善|Improvements to organizational cybersecurity risk management processes, procedures and activities are identified across all CSF Functions
S|ID.IM-01|Improvements are identified from evaluations
S|ID.IM-02|Improvements are identified from security tests and exercises, including those done in coordination with suppliers and relevant third parties
S|ID.IM-03|Improvements are identified from execution of operational processes, procedures, and activities
S|ID.IM-04|Incident response plans and other cybersecurity plans that affect operations are established, communicated, maintained, and improved
F|PR|Protect|防御|Safeguards to manage the organization's cybersecurity risks are used
C|PR.AA|Identity Management, Authentication, and Access Control|ID管理、認証、アクセス制御|Access to physical and logical assets is limited to authorized users, services, and hardware and managed commensurate with the assessed risk of unauthorized access
S|PR.AA-01|Identities and credentials for authorized users, services, and hardware are managed by the organization
S|PR.AA-02|Identities are proofed and bound to credentials based on the context of interactions
S|PR.AA-03|Users, services, and hardware are authenticated
S|PR.AA-04|Identity assertions are protected, conveyed, and verified
S|PR.AA-05|Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, and reviewed, and incorporate the principles of least privilege and separation of duties
S|PR.AA-06|Physical access to assets is managed, monitored, and enforced commensurate with risk
C|PR.AT|Awareness and Training|意識向上とトレーニング|The organization's personnel are provided with cybersecurity awareness and training so that they can perform their cybersecurity-related tasks
S|PR.AT-01|Personnel are provided with awareness and training so that they possess the knowledge and skills to perform general tasks with cybersecurity risks in mind
S|PR.AT-02|Individuals in specialized roles are provided with awareness and training so that they possess the knowledge and skills to perform relevant tasks with cybersecurity risks in mind
C|PR.DS|Data Security|データセキュリティ|Data are managed consistent with the organization's risk strategy to protect the confidentiality, integrity, and availability of information
S|PR.DS-01|The confidentiality, integrity, and availability of data-at-rest are protected
S|PR.DS-02|The confidentiality, integrity, and availability of data-in-transit are protected
S|PR.DS-10|The confidentiality, integrity, and availability of data-in-use are protected
S|PR.DS-11|Backups of data are created, protected, maintained, and tested
C|PR.PS|Platform Security|プラットフォームセキュリティ|The hardware, software (e.g., firmware, operating systems, applications), and services of physical and virtual platforms are managed consistent with the organization's risk strategy to protect their confidentiality, integrity, and availability
S|PR.PS-01|Configuration management practices are established and applied
S|PR.PS-02|Software is maintained, replaced, and removed commensurate with risk
S|PR.PS-03|Hardware is maintained, replaced, and removed commensurate with risk
S|PR.PS-04|Log records are generated and made available for continuous monitoring
S|PR.PS-05|Installation and execution of unauthorized software are prevented
S|PR.PS-06|Secure software development practices are integrated, and their performance is monitored throughout the software development life cycle
C|PR.IR|Technology Infrastructure Resilience|技術インフラのレジリエンス|Security architectures are managed with the organization's risk strategy to protect asset confidentiality, integrity, and availability, and organizational resilience
S|PR.IR-01|Networks and environments are protected from unauthorized logical access and usage
S|PR.IR-02|The organization's technology assets are protected from environmental threats
S|PR.IR-03|Mechanisms are implemented to achieve resilience requirements in normal and adverse situations
S|PR.IR-04|Adequate resource capacity to ensure availability is maintained
F|DE|Detect|検知|Possible cybersecurity attacks and compromises are found and analyzed
C|DE.CM|Continuous Monitoring|継続的モニタリング|Assets are monitored to find anomalies, indicators of compromise, and other potentially adverse events
S|DE.CM-01|Networks and network services are monitored to find potentially adverse events
S|DE.CM-02|The physical environment is monitored to find potentially adverse events
S|DE.CM-03|Personnel activity and technology usage are monitored to find potentially adverse events
S|DE.CM-06|External service provider activities and services are monitored to find potentially adverse events
S|DE.CM-09|Computing hardware and software, runtime environments, and their data are monitored to find potentially adverse events
C|DE.AE|Adverse Event Analysis|有害事象の分析|Anomalies, indicators of compromise, and other potentially adverse events are analyzed to characterize the events and detect cybersecurity incidents
S|DE.AE-02|Potentially adverse events are analyzed to better understand associated activities
S|DE.AE-03|Information is correlated from multiple sources
S|DE.AE-04|The estimated impact and scope of adverse events are understood
S|DE.AE-06|Information on adverse events is provided to authorized staff and tools
S|DE.AE-07|Cyber threat intelligence and other contextual information are integrated into the analysis
S|DE.AE-08|Incidents are declared when adverse events meet the defined incident criteria
F|RS|Respond|対応|Actions regarding a detected cybersecurity incident are taken
C|RS.MA|Incident Management|インシデント管理|Responses to detected cybersecurity incidents are managed
S|RS.MA-01|The incident response plan is executed in coordination with relevant third parties once an incident is declared
S|RS.MA-02|Incident reports are triaged and validated
S|RS.MA-03|Incidents are categorized and prioritized
S|RS.MA-04|Incidents are escalated or elevated as needed
S|RS.MA-05|The criteria for initiating incident recovery are applied
C|RS.AN|Incident Analysis|インシデント分析|Investigations are conducted to ensure effective response and support forensics and recovery activities
S|RS.AN-03|Analysis is performed to establish what has taken place during an incident and the root cause of the incident
S|RS.AN-06|Actions performed during an investigation are recorded, and the records' integrity and provenance are preserved
S|RS.AN-07|Incident data and metadata are collected, and their integrity and provenance are preserved
S|RS.AN-08|An incident's magnitude is estimated and validated
C|RS.CO|Incident Response Reporting and Communication|インシデント対応の報告とコミュニケーション|Response activities are coordinated with internal and external stakeholders as required by laws, regulations, or policies
S|RS.CO-02|Internal and external stakeholders are notified of incidents
S|RS.CO-03|Information is shared with designated internal and external stakeholders
C|RS.MI|Incident Mitigation|インシデントの低減|Activities are performed to prevent expansion of an event and mitigate its effects
S|RS.MI-01|Incidents are contained
S|RS.MI-02|Incidents are eradicated
F|RC|Recover|復旧|Assets and operations affected by a cybersecurity incident are restored
C|RC.RP|Incident Recovery Plan Execution|インシデント復旧計画の実行|Restoration activities are performed to ensure operational availability of systems and services affected by cybersecurity incidents
S|RC.RP-01|The recovery portion of the incident response plan is executed once initiated from the incident response process
S|RC.RP-02|Recovery actions are selected, scoped, prioritized, and performed
S|RC.RP-03|The integrity of backups and other restoration assets is verified before using them for restoration
S|RC.RP-04|Critical mission functions and cybersecurity risk management are considered to establish post-incident operational norms
S|RC.RP-05|The integrity of restored assets is verified, systems and services are restored, and normal operating status is confirmed
S|RC.RP-06|The end of incident recovery is declared based on criteria, and incident-related documentation is completed
C|RC.CO|Incident Recovery Communication|インシデント復旧のコミュニケーション|Restoration activities are coordinated with internal and external parties
S|RC.CO-03|Recovery activities and progress in restoring operational capabilities are communicated to designated internal and external stakeholders
S|RC.CO-04|Public updates on incident recovery are shared using approved methods and messaging
"""

# ---------------------------------------------------------------------------------------
# CIS Critical Security Controls v8 (CIS, May 2021). Licensed CC BY-NC-ND 4.0: only ids,
# titles and implementation groups are shipped, no descriptions.
# C = control, S = safeguard | lowest implementation group (a safeguard in IG1 is also in
# IG2 and IG3) | title.
# ---------------------------------------------------------------------------------------
CIS = """
C|1|Inventory and Control of Enterprise Assets
S|1.1|1|Establish and Maintain Detailed Enterprise Asset Inventory
S|1.2|1|Address Unauthorized Assets
S|1.3|2|Utilize an Active Discovery Tool
S|1.4|2|Use Dynamic Host Configuration Protocol (DHCP) Logging to Update Enterprise Asset Inventory
S|1.5|3|Use a Passive Asset Discovery Tool
C|2|Inventory and Control of Software Assets
S|2.1|1|Establish and Maintain a Software Inventory
S|2.2|1|Ensure Authorized Software is Currently Supported
S|2.3|1|Address Unauthorized Software
S|2.4|2|Utilize Automated Software Inventory Tools
S|2.5|2|Allowlist Authorized Software
S|2.6|2|Allowlist Authorized Libraries
S|2.7|3|Allowlist Authorized Scripts
C|3|Data Protection
S|3.1|1|Establish and Maintain a Data Management Process
S|3.2|1|Establish and Maintain a Data Inventory
S|3.3|1|Configure Data Access Control Lists
S|3.4|1|Enforce Data Retention
S|3.5|1|Securely Dispose of Data
S|3.6|1|Encrypt Data on End-User Devices
S|3.7|2|Establish and Maintain a Data Classification Scheme
S|3.8|2|Document Data Flows
S|3.9|2|Encrypt Data on Removable Media
S|3.10|2|Encrypt Sensitive Data in Transit
S|3.11|2|Encrypt Sensitive Data at Rest
S|3.12|2|Segment Data Processing and Storage Based on Sensitivity
S|3.13|3|Deploy a Data Loss Prevention Solution
S|3.14|3|Log Sensitive Data Access
C|4|Secure Configuration of Enterprise Assets and Software
S|4.1|1|Establish and Maintain a Secure Configuration Process
S|4.2|1|Establish and Maintain a Secure Configuration Process for Network Infrastructure
S|4.3|1|Configure Automatic Session Locking on Enterprise Assets
S|4.4|1|Implement and Manage a Firewall on Servers
S|4.5|1|Implement and Manage a Firewall on End-User Devices
S|4.6|1|Securely Manage Enterprise Assets and Software
S|4.7|1|Manage Default Accounts on Enterprise Assets and Software
S|4.8|2|Uninstall or Disable Unnecessary Services on Enterprise Assets and Software
S|4.9|2|Configure Trusted DNS Servers on Enterprise Assets
S|4.10|2|Enforce Automatic Device Lockout on Portable End-User Devices
S|4.11|2|Enforce Remote Wipe Capability on Portable End-User Devices
S|4.12|3|Separate Enterprise Workspaces on Mobile End-User Devices
C|5|Account Management
S|5.1|1|Establish and Maintain an Inventory of Accounts
S|5.2|1|Use Unique Passwords
S|5.3|1|Disable Dormant Accounts
S|5.4|1|Restrict Administrator Privileges to Dedicated Administrator Accounts
S|5.5|2|Establish and Maintain an Inventory of Service Accounts
S|5.6|2|Centralize Account Management
C|6|Access Control Management
S|6.1|1|Establish an Access Granting Process
S|6.2|1|Establish an Access Revoking Process
S|6.3|1|Require MFA for Externally-Exposed Applications
S|6.4|1|Require MFA for Remote Network Access
S|6.5|1|Require MFA for Administrative Access
S|6.6|2|Establish and Maintain an Inventory of Authentication and Authorization Systems
S|6.7|2|Centralize Access Control
S|6.8|3|Define and Maintain Role-Based Access Control
C|7|Continuous Vulnerability Management
S|7.1|1|Establish and Maintain a Vulnerability Management Process
S|7.2|1|Establish and Maintain a Remediation Process
S|7.3|1|Perform Automated Operating System Patch Management
S|7.4|1|Perform Automated Application Patch Management
S|7.5|2|Perform Automated Vulnerability Scans of Internal Enterprise Assets
S|7.6|2|Perform Automated Vulnerability Scans of Externally-Exposed Enterprise Assets
S|7.7|2|Remediate Detected Vulnerabilities
C|8|Audit Log Management
S|8.1|1|Establish and Maintain an Audit Log Management Process
S|8.2|1|Collect Audit Logs
S|8.3|1|Ensure Adequate Audit Log Storage
S|8.4|2|Standardize Time Synchronization
S|8.5|2|Collect Detailed Audit Logs
S|8.6|2|Collect DNS Query Audit Logs
S|8.7|2|Collect URL Request Audit Logs
S|8.8|2|Collect Command-Line Audit Logs
S|8.9|2|Centralize Audit Logs
S|8.10|2|Retain Audit Logs
S|8.11|2|Conduct Audit Log Reviews
S|8.12|3|Collect Service Provider Logs
C|9|Email and Web Browser Protections
S|9.1|1|Ensure Use of Only Fully Supported Browsers and Email Clients
S|9.2|1|Use DNS Filtering Services
S|9.3|2|Maintain and Enforce Network-Based URL Filters
S|9.4|2|Restrict Unnecessary or Unauthorized Browser and Email Client Extensions
S|9.5|2|Implement DMARC
S|9.6|2|Block Unnecessary File Types
S|9.7|3|Deploy and Maintain Email Server Anti-Malware Protections
C|10|Malware Defenses
S|10.1|1|Deploy and Maintain Anti-Malware Software
S|10.2|1|Configure Automatic Anti-Malware Signature Updates
S|10.3|1|Disable Autorun and Autoplay for Removable Media
S|10.4|2|Configure Automatic Anti-Malware Scanning of Removable Media
S|10.5|2|Enable Anti-Exploitation Features
S|10.6|2|Centrally Manage Anti-Malware Software
S|10.7|2|Use Behavior-Based Anti-Malware Software
C|11|Data Recovery
S|11.1|1|Establish and Maintain a Data Recovery Process
S|11.2|1|Perform Automated Backups
S|11.3|1|Protect Recovery Data
S|11.4|1|Establish and Maintain an Isolated Instance of Recovery Data
S|11.5|2|Test Data Recovery
C|12|Network Infrastructure Management
S|12.1|1|Ensure Network Infrastructure is Up-to-Date
S|12.2|2|Establish and Maintain a Secure Network Architecture
S|12.3|2|Securely Manage Network Infrastructure
S|12.4|2|Establish and Maintain Architecture Diagram(s)
S|12.5|2|Centralize Network Authentication, Authorization, and Auditing (AAA)
S|12.6|2|Use of Secure Network Management and Communication Protocols
S|12.7|2|Ensure Remote Devices Utilize a VPN and are Connecting to an Enterprise's AAA Infrastructure
S|12.8|3|Establish and Maintain Dedicated Computing Resources for All Administrative Work
C|13|Network Monitoring and Defense
S|13.1|2|Centralize Security Event Alerting
S|13.2|2|Deploy a Host-Based Intrusion Detection Solution
S|13.3|2|Deploy a Network Intrusion Detection Solution
S|13.4|2|Perform Traffic Filtering Between Network Segments
S|13.5|2|Manage Access Control for Remote Assets
S|13.6|2|Collect Network Traffic Flow Logs
S|13.7|3|Deploy a Host-Based Intrusion Prevention Solution
S|13.8|3|Deploy a Network Intrusion Prevention Solution
S|13.9|3|Deploy Port-Level Access Control
S|13.10|3|Perform Application Layer Filtering
S|13.11|3|Tune Security Event Alerting Thresholds
C|14|Security Awareness and Skills Training
S|14.1|1|Establish and Maintain a Security Awareness Program
S|14.2|1|Train Workforce Members to Recognize Social Engineering Attacks
S|14.3|1|Train Workforce Members on Authentication Best Practices
S|14.4|1|Train Workforce on Data Handling Best Practices
S|14.5|1|Train Workforce Members on Causes of Unintentional Data Exposure
S|14.6|1|Train Workforce Members on Recognizing and Reporting Security Incidents
S|14.7|1|Train Workforce on How to Identify and Report if Their Enterprise Assets are Missing Security Updates
S|14.8|1|Train Workforce on the Dangers of Connecting to and Transmitting Enterprise Data Over Insecure Networks
S|14.9|2|Conduct Role-Specific Security Awareness and Skills Training
C|15|Service Provider Management
S|15.1|1|Establish and Maintain an Inventory of Service Providers
S|15.2|2|Establish and Maintain a Service Provider Management Policy
S|15.3|2|Classify Service Providers
S|15.4|2|Ensure Service Provider Contracts Include Security Requirements
S|15.5|3|Assess Service Providers
S|15.6|3|Monitor Service Providers
S|15.7|3|Securely Decommission Service Providers
C|16|Application Software Security
S|16.1|2|Establish and Maintain a Secure Application Development Process
S|16.2|2|Establish and Maintain a Process to Accept and Address Software Vulnerabilities
S|16.3|2|Perform Root Cause Analysis on Security Vulnerabilities
S|16.4|2|Establish and Manage an Inventory of Third-Party Software Components
S|16.5|2|Use Up-to-Date and Trusted Third-Party Software Components
S|16.6|2|Establish and Maintain a Severity Rating System and Process for Application Vulnerabilities
S|16.7|2|Use Standard Hardening Configuration Templates for Application Infrastructure
S|16.8|2|Separate Production and Non-Production Systems
S|16.9|2|Train Developers in Application Security Concepts and Secure Coding
S|16.10|2|Apply Secure Design Principles in Application Architectures
S|16.11|2|Leverage Vetted Modules or Services for Application Security Components
S|16.12|3|Implement Code-Level Security Checks
S|16.13|3|Conduct Application Penetration Testing
S|16.14|3|Conduct Threat Modeling
C|17|Incident Response Management
S|17.1|1|Designate Personnel to Manage Incident Handling
S|17.2|1|Establish and Maintain Contact Information for Reporting Security Incidents
S|17.3|1|Establish and Maintain an Enterprise Process for Reporting Incidents
S|17.4|2|Establish and Maintain an Incident Response Process
S|17.5|2|Assign Key Roles and Responsibilities
S|17.6|2|Define Mechanisms for Communicating During Incident Response
S|17.7|2|Conduct Routine Incident Response Exercises
S|17.8|2|Conduct Post-Incident Reviews
S|17.9|3|Establish and Maintain Security Incident Thresholds
C|18|Penetration Testing
S|18.1|2|Establish and Maintain a Penetration Testing Program
S|18.2|2|Perform Periodic External Penetration Tests
S|18.3|2|Remediate Penetration Test Findings
S|18.4|3|Validate Security Measures
S|18.5|3|Perform Periodic Internal Penetration Tests
"""

# ---------------------------------------------------------------------------------------
# UK NCSC Cyber Assessment Framework 3.2 (April 2024). Open Government Licence v3.0:
# objectives, principles and contributing outcomes with their titles (no indicators of
# good practice). O = objective, P = principle, K = contributing outcome.
# ---------------------------------------------------------------------------------------
CAF = """
O|A|Managing security risk
P|A1|Governance
K|A1.a|Board Direction
K|A1.b|Roles and Responsibilities
K|A1.c|Decision-making
P|A2|Risk Management
K|A2.a|Risk Management Process
K|A2.b|Assurance
P|A3|Asset Management
K|A3.a|Asset Management
P|A4|Supply Chain
K|A4.a|Supply Chain
O|B|Protecting against cyber attack
P|B1|Service Protection Policies, Processes and Procedures
K|B1.a|Policy, Process and Procedure Development
K|B1.b|Policy, Process and Procedure Implementation
P|B2|Identity and Access Control
K|B2.a|Identity Verification, Authentication and Authorisation
K|B2.b|Device Management
K|B2.c|Privileged User Management
K|B2.d|Identity and Access Management (IdAM)
P|B3|Data Security
K|B3.a|Understanding Data
K|B3.b|Data in Transit
K|B3.c|Stored Data
K|B3.d|Mobile Data
K|B3.e|Media / Equipment Sanitisation
P|B4|System Security
K|B4.a|Secure by Design
K|B4.b|Secure Configuration
K|B4.c|Secure Management
K|B4.d|Vulnerability Management
P|B5|Resilient Networks and Systems
K|B5.a|Resilience Preparation
K|B5.b|Design for Resilience
K|B5.c|Backups
P|B6|Staff Awareness and Training
K|B6.a|Cyber Security Culture
K|B6.b|Cyber Security Training
O|C|Detecting cyber security events
P|C1|Security Monitoring
K|C1.a|Monitoring Coverage
K|C1.b|Securing Logs
K|C1.c|Generating Alerts
K|C1.d|Identifying Security Incidents
K|C1.e|Monitoring Tools and Skills
P|C2|Proactive Security Event Discovery
K|C2.a|System Abnormalities for Attack Detection
K|C2.b|Proactive Attack Discovery
O|D|Minimising the impact of cyber security incidents
P|D1|Response and Recovery Planning
K|D1.a|Response Plan
K|D1.b|Response and Recovery Capability
K|D1.c|Testing and Exercising
P|D2|Lessons Learned
K|D2.a|Incident Root Cause Analysis
K|D2.b|Using Incidents to Drive Improvements
"""

# ---------------------------------------------------------------------------------------
# METI Cyber/Physical Security Framework (CPSF) 1.0 (April 2019), measure requirements
# (Appendix B), grouped by function and by CSF-like category. Only ids and titles are
# shipped: the titles of requirements are renkei's short summaries, not METI's text.
# Only requirements whose ids were verified against METI material are listed (see the
# catalog remarks); the categories are complete. Japanese category names follow the
# IPA translation of CSF 1.1 that CPSF's Japanese edition uses.
# F = function, C = category, R = requirement.
# ---------------------------------------------------------------------------------------
CPSF = """
F|identify|Identify|識別
C|CPS.AM|Asset Management|資産管理
R|CPS.AM-1|Inventory of system components: hardware, software and their management information
C|CPS.BE|Business Environment|ビジネス環境
C|CPS.GV|Governance|ガバナンス
R|CPS.GV-1|Security policies, roles and responsibilities across parties, and information sharing among stakeholders
C|CPS.RA|Risk Assessment|リスク評価
R|CPS.RA-1|Vulnerabilities of the organization's assets identified and documented per asset
C|CPS.RM|Risk Management Strategy|リスク管理戦略
R|CPS.RM-1|Implementation status of security risk management confirmed and reported, including relevant parties
C|CPS.SC|Supply Chain Risk Management|サプライチェーンリスク管理
R|CPS.SC-1|Supply-chain security measure standards over the business life cycle agreed with business partners
F|protect|Protect|防御
C|CPS.AC|Identity Management, Authentication and Access Control|アイデンティティ管理、認証及びアクセス制御
R|CPS.AC-1|Procedures for identification and authentication information of authorized goods, people and procedures
C|CPS.AT|Awareness and Training|意識向上及びトレーニング
R|CPS.AT-1|Security training and education for all individuals in the organization, with records
C|CPS.DS|Data Security|データセキュリティ
R|CPS.DS-1|Security requirements agreed in advance when exchanging protected information with other organizations
C|CPS.IP|Information Protection Processes and Procedures|情報を保護するためのプロセス及び手順
R|CPS.IP-1|Managing initial settings and setting changes of IoT devices and servers
R|CPS.IP-9|Security in personnel management (access deactivation on transfer, screening)
C|CPS.MA|Maintenance|保守
R|CPS.MA-1|Security updates of IoT devices and servers applied in time with managed tools and recorded
C|CPS.PT|Protective Technology|保護技術
F|detect|Detect|検知
C|CPS.AE|Anomalies and Events|異常とイベント
R|CPS.AE-1|Baseline of network operations and expected information flows between people, goods and systems
C|CPS.CM|Security Continuous Monitoring|セキュリティの継続的なモニタリング
R|CPS.CM-1|Network and access monitoring and control at contact points with wide area networks
C|CPS.DP|Detection Processes|検知プロセス
R|CPS.DP-1|Roles and responsibilities of the organization and service providers in detecting security events
F|respond-recover|Respond and Recover|対応・復旧
C|CPS.RP|Response Planning and Recovery Planning|対応計画・復旧計画
R|CPS.RP-1|Incident response procedure (security operation process) covering organization, people, components and systems
C|CPS.CO|Communications|伝達
C|CPS.AN|Analysis|分析
C|CPS.MI|Mitigation|低減
C|CPS.IM|Improvements|改善
"""

# ---------------------------------------------------------------------------------------
# DOE Cybersecurity Capability Maturity Model (C2M2) 2.1 (June 2022): domains, objectives
# and practices with their maturity indicator level (MIL). The practice titles are
# renkei's short summaries, not DOE's practice text. M = the six "Management Activities"
# practices every domain ends with (a, b at MIL2; c-f at MIL3).
# D = domain, O = objective, P = practice letter | MIL | short title.
# ---------------------------------------------------------------------------------------
C2M2 = """
D|ASSET|Asset, Change, and Configuration Management|資産・変更・構成管理
O|ASSET-1|Manage IT and OT Asset Inventory
P|a|1|Important IT and OT assets inventoried
P|b|2|Inventory includes assets usable for a threat objective
P|c|2|IT and OT assets prioritized by defined criteria
P|d|2|Prioritization considers threat leverage
P|e|2|Inventory attributes support cybersecurity
P|f|3|IT and OT inventory complete
P|g|3|IT and OT inventory current
P|h|3|Data removed from assets before redeployment and at end of life
O|ASSET-2|Manage Information Asset Inventory
P|a|1|Important information assets inventoried
P|b|2|Inventory includes information assets usable for a threat objective
P|c|2|Information assets categorized by defined criteria
P|d|2|Categorization considers threat leverage
P|e|2|Information inventory attributes support cybersecurity
P|f|3|Information inventory complete
P|g|3|Information inventory current
P|h|3|Information assets sanitized or destroyed at end of life
O|ASSET-3|Manage IT and OT Asset Configuration
P|a|1|Configuration baselines established
P|b|2|Baselines used at deployment and restoration
P|c|2|Baselines include architecture requirements
P|d|2|Baselines reviewed and updated
P|e|3|Configurations monitored against baselines
O|ASSET-4|Manage Changes to IT and OT Assets
P|a|1|Changes evaluated and approved before implementation
P|b|1|Changes documented
P|c|2|Change documentation requirements maintained
P|d|2|Changes to higher priority assets tested before deployment
P|e|2|Changes implemented securely
P|f|2|Capability to reverse changes maintained
P|g|2|Change management covers the full asset lifecycle
P|h|3|Changes tested for cybersecurity impact
P|i|3|Change logs record cybersecurity-relevant modifications
M|ASSET-5
D|THREAT|Threat and Vulnerability Management|脅威・脆弱性管理
O|THREAT-1|Reduce Cybersecurity Vulnerabilities
P|a|1|Vulnerability information sources identified
P|b|1|Vulnerability information gathered and interpreted
P|c|1|Vulnerability assessments performed
P|d|1|Relevant vulnerabilities mitigated
P|e|2|Sources covering higher priority assets monitored
P|f|2|Assessments periodic and on triggers
P|g|2|Vulnerabilities analyzed, prioritized and addressed
P|h|2|Operational impact evaluated before patching
P|i|2|Vulnerability information shared with stakeholders
P|j|3|Sources covering all assets monitored
P|k|3|Independent vulnerability assessments
P|l|3|Effectiveness of vulnerability responses reviewed
P|m|3|External vulnerability reports received and answered
O|THREAT-2|Respond to Threats and Share Threat Information
P|a|1|Threat information sources identified
P|b|1|Threat information gathered and interpreted
P|c|1|Threat objectives identified
P|d|1|Relevant threats addressed
P|e|2|Threat profile established
P|f|2|Threat sources prioritized and monitored
P|g|2|Threats analyzed, prioritized and addressed
P|h|2|Threat information exchanged with stakeholders
P|i|3|Threat profile updated
P|j|3|Threat response uses predefined states of operation
P|k|3|Near-real-time threat information sharing
M|THREAT-3
D|RISK|Risk Management|リスク管理
O|RISK-1|Establish and Maintain Cyber Risk Management Strategy and Program
P|a|1|Cyber risk management strategy exists
P|b|2|Strategy aligned with program strategy and enterprise architecture
P|c|2|Cyber risk management program established
P|d|2|Risk information communicated to stakeholders
P|e|2|Risk program governance established
P|f|2|Senior management sponsorship visible
P|g|3|Program aligned with mission and objectives
P|h|3|Program coordinated with enterprise risk management
O|RISK-2|Identify Cyber Risk
P|a|1|Cyber risks identified
P|b|2|Defined identification method
P|c|2|Operations and business stakeholders participate
P|d|2|Risks consolidated into categories
P|e|2|Risks documented in a risk register
P|f|2|Risk owners assigned
P|g|2|Identification periodic and on triggers
P|h|3|Identification uses asset information
P|i|3|Identification uses vulnerability information
P|j|3|Identification uses threat information
P|k|3|Identification uses third-party information
P|l|3|Identification uses architecture information
P|m|3|Identification considers critical infrastructure interdependencies
O|RISK-3|Analyze Cyber Risk
P|a|1|Risks prioritized by estimated impact
P|b|2|Defined prioritization criteria
P|c|2|Defined impact estimation method
P|d|2|Defined analysis methods for higher priority risks
P|e|2|Stakeholders participate in analysis
P|f|2|Risks removed from the register when no longer needed
P|g|3|Analyses updated periodically and on triggers
O|RISK-4|Respond to Cyber Risk
P|a|1|Risk responses implemented
P|b|2|Defined method to select risk responses
P|c|3|Controls evaluated for design and operation
P|d|3|Leadership reviews mitigation against risk tolerance
P|e|3|Risk responses reviewed periodically
M|RISK-5
D|ACCESS|Identity and Access Management|ID・アクセス管理
O|ACCESS-1|Establish Identities and Manage Authentication
P|a|1|Identities provisioned
P|b|1|Credentials issued
P|c|1|Identities deprovisioned
P|d|2|Password strength and reuse rules enforced
P|e|2|Identity repositories reviewed
P|f|2|Timely deprovisioning
P|g|2|Privileged credential use limited
P|h|2|Stronger authentication for higher risk access
P|i|3|Multifactor authentication for all access
P|j|3|Inactive identities disabled
O|ACCESS-2|Control Logical Access
P|a|1|Logical access controls implemented
P|b|1|Logical access revoked when not needed
P|c|2|Logical access requirements established
P|d|2|Least privilege (logical)
P|e|2|Separation of duties (logical)
P|f|2|Logical access requests approved by the asset owner
P|g|2|Higher risk logical privileges scrutinized and monitored
P|h|3|Logical access privileges reviewed
P|i|3|Anomalous logical access attempts monitored
O|ACCESS-3|Control Physical Access
P|a|1|Physical access controls implemented
P|b|1|Physical access revoked when not needed
P|c|1|Physical access logs maintained
P|d|2|Physical access requirements established
P|e|2|Least privilege (physical)
P|f|2|Separation of duties (physical)
P|g|2|Physical access requests approved by the asset owner
P|h|2|Higher risk physical privileges scrutinized and monitored
P|i|3|Physical access privileges reviewed
P|j|3|Physical access monitored for cybersecurity events
M|ACCESS-4
D|SITUATION|Situational Awareness|状況認識
O|SITUATION-1|Perform Logging
P|a|1|Logging for important assets
P|b|2|Logging for assets usable for a threat objective
P|c|2|Logging requirements for IT and OT assets
P|d|2|Logging requirements for monitoring infrastructure
P|e|2|Log data aggregated
P|f|3|More rigorous logging for higher priority assets
O|SITUATION-2|Perform Monitoring
P|a|1|Log data and monitoring reviewed
P|b|1|Monitoring infrastructure data and alerts reviewed
P|c|2|Monitoring and analysis requirements established
P|d|2|Indicators of anomalous activity monitored
P|e|2|Alarms and alerts configured
P|f|2|Monitoring aligned with the threat profile
P|g|3|More rigorous monitoring for higher priority assets
P|h|3|Risk analysis informs indicators
P|i|3|Indicators evaluated and updated
O|SITUATION-3|Establish and Maintain Situational Awareness
P|a|2|Communicating the cybersecurity state
P|b|2|Monitoring data aggregated for the operational state
P|c|2|Organization-wide information available
P|d|3|Situational awareness reporting requirements
P|e|3|External information collected and shared internally
P|f|3|Near-real-time correlation and analysis capability
P|g|3|Predefined states of operation documented
M|SITUATION-4
D|RESPONSE|Event and Incident Response, Continuity of Operations|イベント・インシデント対応、事業継続
O|RESPONSE-1|Detect Cybersecurity Events
P|a|1|Detected events reported and documented
P|b|2|Event detection criteria established
P|c|2|Events documented per criteria
P|d|3|Event information correlated
P|e|3|Detection adjusted to risks and threat profile
P|f|3|Situational awareness monitored for events
O|RESPONSE-2|Analyze Cybersecurity Events and Declare Incidents
P|a|1|Incident declaration criteria established
P|b|1|Events analyzed for incident declaration
P|c|2|Declaration criteria based on potential impact
P|d|2|Incidents declared per criteria
P|e|2|Declaration criteria updated
P|f|2|Events and incidents tracked to closure
P|g|2|Stakeholders notified of incidents
P|h|3|Declaration criteria aligned with risk prioritization
P|i|3|Incidents correlated across incidents
O|RESPONSE-3|Respond to Cybersecurity Incidents
P|a|1|Incident response personnel and roles identified
P|b|1|Incident responses executed
P|c|1|Incidents reported
P|d|2|Incident response plans for the full lifecycle
P|e|2|Response executed per plans
P|f|2|Response communications plan
P|g|2|Response plan exercises
P|h|2|Lessons learned and corrective actions
P|i|3|Root-cause analysis and corrective actions
P|j|3|Response coordinated with external entities
P|k|3|Joint exercises with other organizations
P|l|3|Responses use predefined states of operation
O|RESPONSE-4|Address Cybersecurity in Continuity of Operations
P|a|1|Continuity plans developed
P|b|1|Data backups available and tested
P|c|1|Assets requiring spares identified
P|d|2|Continuity plans address cybersecurity impacts
P|e|2|Minimum operations documented in continuity plans
P|f|2|Continuity plans cover important assets, backups and spares
P|g|2|RTOs and RPOs in continuity plans
P|h|2|Incident criteria trigger continuity plans
P|i|2|Continuity plans tested
P|j|2|Backups protected at least as strongly as source data
P|k|2|Backups separated from source data
P|l|2|Spares available
P|m|3|Continuity plans aligned with risks and threat profile
P|n|3|Continuity exercises address higher priority risks
P|o|3|Test results compared to recovery objectives
P|p|3|Continuity plans reviewed and updated
M|RESPONSE-5
D|THIRD-PARTIES|Third-Party Risk Management|サードパーティリスク管理
O|THIRD-PARTIES-1|Identify and Prioritize Third Parties
P|a|1|Important third-party dependencies identified
P|b|1|Third parties with access or custody identified
P|c|2|Defined method to identify third-party risks
P|d|2|Third parties prioritized by criteria
P|e|2|Escalated priority for high-consequence suppliers
P|f|3|Third-party prioritization updated
O|THIRD-PARTIES-2|Manage Third-Party Risk
P|a|1|Supplier selection considers cybersecurity qualifications
P|b|1|Product and service selection considers cybersecurity
P|c|2|Defined method for third-party requirements and controls
P|d|2|Defined method to evaluate and select suppliers
P|e|2|More rigorous controls for higher priority third parties
P|f|2|Cybersecurity requirements in agreements
P|g|2|Suppliers attest to meeting requirements
P|h|3|Secure development requirements for suppliers
P|i|3|End of life and end of support considered
P|j|3|Safeguards against counterfeit or compromised products
P|k|3|Bills of material evaluated for higher priority assets
P|l|3|Third-party hosting environments evaluated
P|m|3|Acceptance testing includes cybersecurity requirements
M|THIRD-PARTIES-3
D|WORKFORCE|Workforce Management|人材管理
O|WORKFORCE-1|Implement Workforce Controls
P|a|1|Personnel vetting at hire
P|b|1|Separation procedures address cybersecurity
P|c|2|Vetting at hire and periodically for sensitive positions
P|d|2|Separation and transfer procedures address cybersecurity
P|e|2|Personnel aware of acceptable use responsibilities
P|f|3|Vetting for all positions by position risk
P|g|3|Formal accountability and disciplinary process
O|WORKFORCE-2|Increase Cybersecurity Awareness
P|a|1|Awareness activities occur
P|b|2|Awareness objectives established
P|c|2|Awareness objectives aligned with the threat profile
P|d|2|Periodic awareness activities
P|e|3|Awareness tailored to job role
P|f|3|Awareness covers predefined states of operation
P|g|3|Awareness effectiveness evaluated
O|WORKFORCE-3|Assign Cybersecurity Responsibilities
P|a|1|Cybersecurity responsibilities identified
P|b|1|Responsibilities assigned to people
P|c|2|Responsibilities assigned to roles, including service providers
P|d|2|Responsibilities documented
P|e|3|Responsibilities reviewed and updated
P|f|3|Coverage, redundancy and succession managed
O|WORKFORCE-4|Develop Cybersecurity Workforce
P|a|1|Training available to responsible personnel
P|b|1|Knowledge, skill and ability gaps identified
P|c|2|Gaps addressed by training, recruiting and retention
P|d|2|Training required before access to important assets
P|e|3|Training effectiveness evaluated
P|f|3|Continuing education and professional development
M|WORKFORCE-5
D|ARCHITECTURE|Cybersecurity Architecture|サイバーセキュリティアーキテクチャ
O|ARCHITECTURE-1|Establish and Maintain Cybersecurity Architecture Strategy and Program
P|a|1|Cybersecurity architecture strategy exists
P|b|2|Strategy aligned with program strategy and enterprise architecture
P|c|2|Documented cybersecurity architecture
P|d|2|Architecture governance and review process
P|e|2|Senior management sponsorship visible
P|f|2|Architecture sets cybersecurity requirements for assets
P|g|2|Controls selected to meet requirements
P|h|3|Aligned with the enterprise architecture program
P|i|3|Conformance to the architecture evaluated
P|j|3|Architecture guided by risk analysis and threat profile
P|k|3|Architecture addresses predefined states of operation
O|ARCHITECTURE-2|Implement Network Protections as an Element of the Cybersecurity Architecture
P|a|1|Network protections implemented
P|b|1|IT separated from OT
P|c|2|Network protections by asset type, risk and priority
P|d|2|Important assets segmented into security zones
P|e|2|Least privilege and least functionality in the network
P|f|2|Traffic monitored and controlled for security zones
P|g|2|Web traffic and email monitored and controlled
P|h|3|All assets segmented into security zones
P|i|3|Separate networks with independent authentication
P|j|3|OT operable during an IT outage
P|k|3|Only authorized devices connect
P|l|3|Compromised assets can be isolated
O|ARCHITECTURE-3|Implement IT and OT Asset Security as an Element of the Cybersecurity Architecture
P|a|1|Access controls protect important assets
P|b|1|Endpoint protections for important assets
P|c|2|Least privilege enforced
P|d|2|Least functionality enforced
P|e|2|Secure configurations at deployment
P|f|2|Security applications required in device configuration
P|g|2|Removable media controlled
P|h|2|Controls or compensating controls for all assets
P|i|2|Maintenance and capacity management
P|j|2|Physical operating environment controlled
P|k|2|More rigorous controls for higher priority assets
P|l|3|Firmware configuration and changes controlled
P|m|3|Unauthorized code execution prevented
O|ARCHITECTURE-4|Implement Software Security as an Element of the Cybersecurity Architecture
P|a|2|Secure development for in-house software on higher priority assets
P|b|2|Vendor development practices considered for higher priority assets
P|c|2|Secure software configurations at deployment
P|d|3|Secure development for all in-house software
P|e|3|Vendor development practices considered for all procured software
P|f|3|Architecture review of new and revised applications
P|g|3|Software and firmware authenticity validated
P|h|3|Security testing of in-house applications
O|ARCHITECTURE-5|Implement Data Security as an Element of the Cybersecurity Architecture
P|a|1|Sensitive data protected at rest
P|b|2|Data at rest protected for selected categories
P|c|2|Data in transit protected for selected categories
P|d|2|Cryptographic controls for data at rest and in transit
P|e|2|Key management infrastructure
P|f|2|Data exfiltration controls
P|g|3|Protection of data on assets that may be lost or stolen
P|h|3|Protection against unauthorized changes to software, firmware and data
M|ARCHITECTURE-6
D|PROGRAM|Cybersecurity Program Management|サイバーセキュリティプログラム管理
O|PROGRAM-1|Establish Cybersecurity Program Strategy
P|a|1|Cybersecurity program strategy exists
P|b|2|Strategy defines goals and objectives
P|c|2|Strategy documented and aligned with the mission
P|d|2|Strategy defines oversight and governance
P|e|2|Strategy defines program structure
P|f|2|Strategy identifies standards and guidelines
P|g|2|Strategy identifies compliance requirements
P|h|3|Strategy updated periodically and on triggers
O|PROGRAM-2|Establish and Maintain Cybersecurity Program
P|a|1|Senior management supports the program
P|b|2|Program established per the strategy
P|c|2|Senior management sponsorship visible
P|d|2|Sponsorship for cybersecurity policies
P|e|2|Program responsibility assigned with authority
P|f|2|Program stakeholders involved
P|g|3|Program activities reviewed against the strategy
P|h|3|Independent conformance reviews
P|i|3|Program enables legal and regulatory compliance
P|j|3|Collaboration with external entities on standards
M|PROGRAM-3
"""

C2M2_MANAGEMENT = [
    ("a", "2", "Documented procedures"),
    ("b", "2", "Adequate resources"),
    ("c", "3", "Policies define requirements"),
    ("d", "3", "Responsibility, accountability and authority assigned"),
    ("e", "3", "Personnel have the needed skills and knowledge"),
    ("f", "3", "Effectiveness evaluated and tracked"),
]

# ---------------------------------------------------------------------------------------
# Mappings, by official label: source | targets separated by spaces | relationship
# (NIST IR 8477 set-theory vocabulary; "intersects" when omitted). Only pairs whose
# content overlaps plainly are listed; no entry means "not mapped", not "no relation".
# ---------------------------------------------------------------------------------------
RELATIONSHIPS = ("equivalent", "subset-of", "superset-of", "intersects")

# CSF 2.0 subcategory -> CIS Controls v8 safeguard.
CSF_TO_CIS = """
GV.RR-02|17.1 17.5
GV.RR-04|6.2
GV.SC-01|15.2
GV.SC-02|15.4
GV.SC-04|15.1 15.3
GV.SC-05|15.4
GV.SC-06|15.5
GV.SC-07|15.5 15.6
GV.SC-08|17.2
GV.SC-09|15.6
GV.SC-10|15.7
ID.AM-01|1.1 1.3 1.5
ID.AM-02|2.1 2.4
ID.AM-03|3.8 12.4
ID.AM-04|15.1
ID.AM-05|3.7 15.3
ID.AM-07|3.2
ID.AM-08|2.2 3.5
ID.RA-01|7.1 7.5 7.6 18.2 18.5
ID.RA-03|16.14
ID.RA-05|7.2 16.6
ID.RA-06|7.2 7.7
ID.RA-08|16.2
ID.RA-09|16.5
ID.RA-10|15.5
ID.IM-02|17.7 18.3 18.4
ID.IM-03|17.8
ID.IM-04|11.1 17.4
PR.AA-01|5.1 5.3 5.5 6.1 6.2
PR.AA-03|5.2 6.3 6.4 6.5
PR.AA-05|3.3 5.4 6.1 6.2 6.8
PR.AT-01|14.1 14.2 14.3 14.4 14.5 14.6 14.7 14.8
PR.AT-02|14.9 16.9
PR.DS-01|3.6 3.9 3.11
PR.DS-02|3.10
PR.DS-11|11.2 11.3 11.4 11.5
PR.PS-01|4.1 4.2 4.7 4.8 16.7
PR.PS-02|2.2 2.3 7.3 7.4
PR.PS-04|8.1 8.2 8.5 8.6 8.7 8.8
PR.PS-05|2.5 2.6 2.7
PR.PS-06|16.1 16.10 16.12 16.14
PR.IR-01|4.4 4.5 12.2 13.4 13.5
PR.IR-04|8.3
DE.CM-01|13.3 13.6
DE.CM-03|8.11
DE.CM-06|8.12 15.6
DE.CM-09|10.1 10.7 13.2
DE.AE-02|8.11 13.1
DE.AE-03|8.9 13.1
DE.AE-06|13.1
DE.AE-08|17.9
RS.MA-01|17.4
RS.MA-02|17.3
RS.MA-03|17.9
RS.AN-03|17.8
RS.CO-02|17.2
RS.CO-03|17.6
RC.RP-01|11.1
RC.RP-02|11.1
RC.RP-03|11.5
"""

# CSF 2.0 category -> CPSF 1.0 category. CPSF's categories follow CSF 1.1's, so these
# follow NIST's CSF 1.1 -> 2.0 changes (e.g. ID.GV and ID.BE into GV.OC/GV.RR/GV.PO).
CSF_TO_CPSF = """
GV.OC|CPS.BE CPS.GV
GV.RM|CPS.RM
GV.RR|CPS.GV
GV.PO|CPS.GV
GV.SC|CPS.SC
ID.AM|CPS.AM
ID.RA|CPS.RA
ID.IM|CPS.IM CPS.IP
PR.AA|CPS.AC
PR.AT|CPS.AT
PR.DS|CPS.DS
PR.PS|CPS.IP CPS.MA CPS.PT
PR.IR|CPS.PT
DE.CM|CPS.CM
DE.AE|CPS.AE CPS.DP
RS.MA|CPS.RP
RS.AN|CPS.AN
RS.CO|CPS.CO
RS.MI|CPS.MI
RC.RP|CPS.RP
RC.CO|CPS.CO
"""

# CSF 2.0 category -> C2M2 2.1 objective.
CSF_TO_C2M2 = """
GV.OC|PROGRAM-1
GV.RM|RISK-1
GV.RR|WORKFORCE-3 PROGRAM-2
GV.PO|PROGRAM-2
GV.OV|PROGRAM-1 RISK-4
GV.SC|THIRD-PARTIES-1 THIRD-PARTIES-2
ID.AM|ASSET-1 ASSET-2
ID.RA|RISK-2 RISK-3 RISK-4 THREAT-1 THREAT-2
ID.IM|RESPONSE-3 RESPONSE-4
PR.AA|ACCESS-1 ACCESS-2 ACCESS-3
PR.AT|WORKFORCE-2 WORKFORCE-4
PR.DS|ARCHITECTURE-5 RESPONSE-4
PR.PS|ASSET-3 ASSET-4 ARCHITECTURE-3 ARCHITECTURE-4 SITUATION-1
PR.IR|ARCHITECTURE-1 ARCHITECTURE-2
DE.CM|SITUATION-2
DE.AE|SITUATION-3 RESPONSE-1 RESPONSE-2
RS.MA|RESPONSE-3
RS.AN|RESPONSE-3
RS.CO|RESPONSE-2 RESPONSE-3
RS.MI|RESPONSE-3
RC.RP|RESPONSE-4
RC.CO|RESPONSE-4
"""

# CSF 2.0 category -> CAF 3.2 contributing outcome.
CSF_TO_CAF = """
GV.RM|A2.a
GV.RR|A1.b A1.c
GV.PO|B1.a B1.b
GV.OV|A1.a A2.b
GV.SC|A4.a
ID.AM|A3.a B3.a
ID.RA|A2.a B4.d
ID.IM|D1.c D2.b
PR.AA|B2.a B2.b B2.c B2.d
PR.AT|B6.a B6.b
PR.DS|B3.b B3.c B3.d B3.e B5.c
PR.PS|B4.b B4.c B4.d C1.a
PR.IR|B4.a B5.a B5.b
DE.CM|C1.a C1.c
DE.AE|C1.d C2.a C2.b
RS.MA|D1.a D1.b
RS.AN|D2.a
RS.CO|D1.a
RS.MI|D1.b
RC.RP|D1.a D1.b
RC.CO|D1.a
"""


# ---------------------------------------------------------------------------------------
# Building the OSCAL documents.
# ---------------------------------------------------------------------------------------
def prop(name, value):
    return {"name": name, "value": value}


def statement(oscal, prose):
    return [{"id": f"{oscal}_smt", "name": "statement", "prose": prose}]


def metadata(framework, title, version, licence, source, remarks):
    return {
        "title": title,
        "last-modified": LAST_MODIFIED,
        "version": version,
        "oscal-version": OSCAL_VERSION,
        "props": [
            prop("framework", framework),
            prop("text-licence", licence),
            prop("source", source),
        ],
        "remarks": remarks,
    }


def catalog(framework, meta, groups):
    return {"catalog": {"uuid": uid(framework), "metadata": meta, "groups": groups}}


def csf_catalog():
    functions = []
    for row in rows(CSF):
        kind, label = row[0], row[1]
        oscal = oscal_id(label)
        if kind == "F":
            _, _, title, ja, text = row
            functions.append({
                "id": oscal, "class": "function", "title": title,
                "props": [prop("label", label), prop("title-ja", ja)],
                "parts": statement(oscal, text), "groups": [],
            })
        elif kind == "C":
            _, _, title, ja, text = row
            functions[-1]["groups"].append({
                "id": oscal, "class": "category", "title": title,
                "props": [prop("label", label), prop("title-ja", ja)],
                "parts": statement(oscal, text), "controls": [],
            })
        else:
            functions[-1]["groups"][-1]["controls"].append({
                "id": oscal, "class": "subcategory", "title": label,
                "props": [prop("label", label)],
                "parts": statement(oscal, row[2]),
            })
    meta = metadata(
        "nist-csf-2.0", "NIST Cybersecurity Framework (CSF) 2.0", "2.0", "full-text",
        "https://doi.org/10.6028/NIST.CSWP.29",
        "NIST CSWP 29 (26 February 2024): the 6 functions, 22 categories and 106 "
        "subcategories with their full text. A work of the US government, not subject to "
        "copyright in the United States. Withdrawn CSF 1.1 subcategories, implementation "
        "examples, informative references and tiers are not included. The title-ja props "
        "are renkei's Japanese titles, not an official translation. Generated by "
        "ops/catalogs/build.py.",
    )
    return catalog("nist-csf-2.0", meta, functions)


def cis_catalog():
    controls = []
    for row in rows(CIS):
        label = row[1]
        if row[0] == "C":
            controls.append({
                "id": f"cis-{label}", "class": "control", "title": row[2],
                "props": [prop("label", label)], "controls": [],
            })
        else:
            lowest = int(row[2])
            controls[-1]["controls"].append({
                "id": f"cis-{label}", "class": "safeguard", "title": row[3],
                "props": [prop("label", label)]
                + [prop("implementation-group", f"IG{ig}") for ig in range(lowest, 4)],
            })
    meta = metadata(
        "cis-v8", "CIS Critical Security Controls v8", "8.0", "ids-and-titles-only",
        "https://www.cisecurity.org/controls/v8",
        "The 18 CIS Controls and 153 Safeguards of CIS Controls v8 (May 2021): ids, "
        "titles and implementation groups (IG1-IG3) only. The CIS Controls are licensed "
        "under Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 International "
        "(CC BY-NC-ND 4.0), so their descriptions are not reproduced; read them in the "
        "publication from the Center for Internet Security. CIS Controls is a trademark of "
        "the Center for Internet Security, Inc. Generated by ops/catalogs/build.py.",
    )
    # The 18 controls are top-level groups (class "control") holding their safeguards.
    return catalog("cis-v8", meta, controls)


def caf_catalog():
    objectives = []
    for kind, label, title in rows(CAF):
        oscal = oscal_id(label)
        if kind == "O":
            objectives.append({"id": oscal, "class": "objective", "title": title,
                               "props": [prop("label", label)], "groups": []})
        elif kind == "P":
            objectives[-1]["groups"].append({"id": oscal, "class": "principle", "title": title,
                                             "props": [prop("label", label)], "controls": []})
        else:
            objectives[-1]["groups"][-1]["controls"].append({
                "id": oscal, "class": "contributing-outcome", "title": title,
                "props": [prop("label", label)],
            })
    meta = metadata(
        "ncsc-caf-3.2", "NCSC Cyber Assessment Framework (CAF) 3.2", "3.2",
        "ids-and-titles-only", "https://www.ncsc.gov.uk/collection/cyber-assessment-framework",
        "The 4 objectives (A-D), 14 principles (A1-D2) and 39 contributing outcomes of the "
        "UK NCSC Cyber Assessment Framework version 3.2, with their titles. Contains public "
        "sector information licensed under the Open Government Licence v3.0 "
        "(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/). The "
        "indicators of good practice are not included. Generated by ops/catalogs/build.py.",
    )
    return catalog("ncsc-caf-3.2", meta, objectives)


def cpsf_catalog():
    functions = []
    for row in rows(CPSF):
        kind, label = row[0], row[1]
        if kind == "F":
            functions.append({"id": label, "class": "function", "title": row[2],
                              "props": [prop("label", row[2]), prop("title-ja", row[3])],
                              "controls": []})
        elif kind == "C":
            functions[-1]["controls"].append({
                "id": oscal_id(label), "class": "category", "title": row[2],
                "props": [prop("label", label), prop("title-ja", row[3])],
            })
        else:
            functions[-1]["controls"][-1].setdefault("controls", []).append({
                "id": oscal_id(label), "class": "requirement", "title": row[2],
                "props": [prop("label", label)],
            })
    meta = metadata(
        "meti-cpsf-1.0", "METI Cyber/Physical Security Framework (CPSF) 1.0", "1.0",
        "ids-and-titles-only", "https://www.meti.go.jp/english/press/2019/0418_001.html",
        "Ministry of Economy, Trade and Industry (Japan), Cyber/Physical Security Framework "
        "version 1.0 (April 2019), measure requirements of Appendix B. Only ids and titles "
        "are shipped, no requirement text: the requirement titles are renkei's short "
        "summaries. All 20 categories (CPS.AM ... CPS.IM) are included; of the measure "
        "requirements only the 15 whose ids were verified against METI's published "
        "material are included (the first requirement of most categories, and CPS.IP-9), "
        "so the requirement list is PARTIAL. Japanese category names follow the IPA "
        "Japanese translation of CSF 1.1 and were not checked against the Japanese edition "
        "of CPSF. Generated by ops/catalogs/build.py.",
    )
    return catalog("meti-cpsf-1.0", meta, functions)


def c2m2_catalog():
    domains = []
    for row in rows(C2M2):
        kind = row[0]
        if kind == "D":
            _, label, title, ja = row
            domains.append({"id": oscal_id(label), "class": "domain", "title": title,
                            "props": [prop("label", label), prop("title-ja", ja)],
                            "groups": []})
        elif kind in ("O", "M"):
            label = row[1]
            domain = domains[-1]["props"][0]["value"]
            title = row[2] if kind == "O" else f"Management Activities for the {domain} domain"
            domains[-1]["groups"].append({"id": oscal_id(label), "class": "objective",
                                          "title": title, "props": [prop("label", label)],
                                          "controls": []})
            if kind == "M":
                for letter, mil, short in C2M2_MANAGEMENT:
                    add_practice(domains[-1]["groups"][-1], letter, mil, short)
        else:
            add_practice(domains[-1]["groups"][-1], row[1], row[2], row[3])
    meta = metadata(
        "c2m2-2.1", "Cybersecurity Capability Maturity Model (C2M2) 2.1", "2.1",
        "ids-and-titles-only",
        "https://www.energy.gov/ceser/cybersecurity-capability-maturity-model-c2m2",
        "US Department of Energy, C2M2 version 2.1 (June 2022): the 10 domains, their "
        "objectives and all 356 practices with ids (e.g. ASSET-1a) and maturity indicator "
        "levels (prop mil, 1-3). C2M2 is a US government work whose text may be reused, "
        "but the practice titles here are renkei's short summaries, not DOE's practice "
        "text: read the full text in DOE's publication. The title-ja props are renkei's "
        "Japanese titles. Generated by ops/catalogs/build.py.",
    )
    return catalog("c2m2-2.1", meta, domains)


def add_practice(objective, letter, mil, short):
    label = objective["props"][0]["value"] + letter
    objective["controls"].append({
        "id": oscal_id(label), "class": "practice", "title": short,
        "props": [prop("label", label), prop("mil", mil)],
    })


CATALOGS = {
    "nist-csf-2.0": csf_catalog,
    "c2m2-2.1": c2m2_catalog,
    "cis-v8": cis_catalog,
    "ncsc-caf-3.2": caf_catalog,
    "meti-cpsf-1.0": cpsf_catalog,
}

MAPPINGS = [
    ("nist-csf-2.0", "cis-v8", CSF_TO_CIS, "subcategory to safeguard"),
    ("nist-csf-2.0", "meti-cpsf-1.0", CSF_TO_CPSF, "category to category"),
    ("nist-csf-2.0", "c2m2-2.1", CSF_TO_C2M2, "category to objective"),
    ("nist-csf-2.0", "ncsc-caf-3.2", CSF_TO_CAF, "category to contributing outcome"),
]


def walk(items):
    """Every group and control of a catalog, depth first, in document order."""
    for item in items:
        yield item
        yield from walk(item.get("groups", []))
        yield from walk(item.get("controls", []))


def label_of(item):
    return next(p["value"] for p in item["props"] if p["name"] == "label")


def check_catalog(name, doc):
    """Ids unique (OSCAL requires it) and labels unique within the catalog."""
    problems, ids, labels = [], set(), set()
    for item in walk(doc["catalog"]["groups"]):
        for key in [item["id"]] + [part["id"] for part in item.get("parts", [])]:
            if key in ids:
                problems.append(f"{name}: duplicate id {key}")
            ids.add(key)
        label = label_of(item)
        if label in labels:
            problems.append(f"{name}: duplicate label {label}")
        labels.add(label)
    return problems, labels


def mapping_doc(source, target, table, level, labels):
    problems, mappings = [], []
    for row in rows(table):
        relationship = row[2] if len(row) > 2 else "intersects"
        if relationship not in RELATIONSHIPS:
            problems.append(f"{source}->{target}: unknown relationship {relationship}")
        if row[0] not in labels[source]:
            problems.append(f"{source}->{target}: {row[0]} is not a label of {source}")
        for tgt in row[1].split():
            if tgt not in labels[target]:
                problems.append(f"{source}->{target}: {tgt} is not a label of {target}")
            mappings.append({"source": row[0], "target": tgt, "relationship": relationship})
    doc = {
        "source": source,
        "target": target,
        "relationship-vocabulary": "NIST IR 8477 (equivalent, subset-of, superset-of, intersects)",
        "level": level,
        "remarks": "Generated by ops/catalogs/build.py. Labels are the frameworks' official "
        "ids. A relationship reads source-to-target; an unmapped source means not mapped, "
        "not unrelated.",
        "mappings": mappings,
    }
    return problems, doc


def render(doc):
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build():
    """All output files as {path: bytes}, plus every problem found."""
    files, problems, labels, counts = {}, [], {}, {}
    for name, make in CATALOGS.items():
        doc = make()
        found, labels[name] = check_catalog(name, doc)
        problems += found
        files[OUT / f"{name}.json"] = render(doc)
        by_class = {}
        for item in walk(doc["catalog"]["groups"]):
            by_class[item["class"]] = by_class.get(item["class"], 0) + 1
        counts[name] = by_class
    for source, target, table, level in MAPPINGS:
        found, doc = mapping_doc(source, target, table, level, labels)
        problems += found
        files[OUT / "mappings" / f"{source}_to_{target}.json"] = render(doc)
        sources = len({m["source"] for m in doc["mappings"]})
        counts[f"{source} -> {target}"] = {"pairs": len(doc["mappings"]), "sources": sources}
    return files, problems, counts


def trestle_problems(paths):
    """Each catalog parsed by compliance-trestle's OSCAL catalog model (schema validation)."""
    from trestle.oscal.catalog import Catalog  # only in the venv that has trestle

    problems = []
    for path in paths:
        try:
            Catalog.oscal_read(path)
        except Exception as err:  # trestle raises several error types; report them all
            problems.append(f"{path.relative_to(ROOT)}: trestle: {err}")
    return problems


def main():
    check = "--check" in sys.argv[1:]
    files, problems, counts = build()
    if "--trestle" in sys.argv[1:]:
        problems += trestle_problems(p for p in files if p.parent == OUT and p.exists())
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    stale = []
    for path, data in files.items():
        if check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for name, by_class in counts.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in by_class.items()))
    if stale:
        print("out of date (run python3 ops/catalogs/build.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
