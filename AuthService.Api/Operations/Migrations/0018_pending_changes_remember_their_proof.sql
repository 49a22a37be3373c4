-- A switch or an addition remembers the kind of proof that started it. A backup code or a bypass code proves the user, not a
-- factor, so no factor removal voids what one started (0015 voids additions when a factor goes). Regenerating the backup codes,
-- or revoking the bypass codes, is how a person cleans up after such a code leaked; from now on that also voids the switches
-- and additions a code of that kind started (PendingFactors.VoidStartedWithAsync), before a thief could confirm them.
-- Rows started before this migration have no proof method and are not voided that way; they expire within their validity.
alter table pending_factors add column proof_method text;
