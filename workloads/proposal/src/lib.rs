//! aibid-proposal: plans an outline that covers a RequirementLedger, writes its sections
//! (LLM or template), checks coverage and compliance, and exports Word.
