"""The words of the public pages, in English and French, and how numbers, dates and countries read.

One catalogue, a dict per language with the same keys (a test checks it). A message may have a
singular and a plural form (``key.one`` / ``key.other``); placeholders use ``str.format`` names.
"""
from __future__ import annotations

import gettext
from functools import lru_cache
from typing import Any

import pycountry

LANGUAGES = ("en", "fr")
DEFAULT = "en"

CATALOGUE: dict[str, dict[str, str]] = {
    "en": {
        "html.lang": "en",
        "switch.label": "Language",
        "brand.tagline": "Gold traced from pit to piece",
        "piece.default": "A piece of gold jewellery",
        "piece.karat": "{karat} ct gold",
        "piece.mass": "{mass} g",
        "piece.serial": "serial {serial}",
        "piece.made": "Made by {maker} on {date}",
        "piece.made_anon": "Made on {date}",
        "piece.sold": "Sold on {date}",
        "claim.title": "What the record shows",
        "claim.traced_all.one": "Its gold is traced to {n} mine site in {places}.",
        "claim.traced_all.other": "Its gold is traced to {n} mine sites in {places}.",
        "claim.traced_part.one": "{share} of its gold is traced to {n} mine site in {places}.",
        "claim.traced_part.other": "{share} of its gold is traced to {n} mine sites in {places}.",
        "claim.traced_none": "Its gold is not traced to any registered mine site.",
        "claim.weighed": "Every hand-over was weighed by the one who received it.",
        "claim.assayed": "Every lot was assayed on its way to this piece.",
        "claim.no_gap": "No hand-over is missing from the record.",
        "claim.flags_clear": "The automatic checks found no open red flag.",
        "claim.flags_open.one": "{n} red flag is open: see below.",
        "claim.flags_open.other": "{n} red flags are open: see below.",
        "unknown.title": "What is not known",
        "unknown.none": "Nothing: every step of this record is backed by a recorded weighing or assay.",
        "unknown.no_site": "No part of its gold is recorded as coming from a registered mine site.",
        "unknown.untraced.no_production_record": "{share} of the gold comes from a source outside the chain (for example recycled gold), with no record of the mine it came from.",
        "unknown.untraced.unregistered_pit": "{share} of the gold was produced at a pit that is not in the register.",
        "unknown.untraced.circular_lineage": "{share} of the gold has a circular record that cannot be followed back.",
        "unknown.untraced.unregistered_site": "{share} of the gold comes from a mine site that is not in the register.",
        "unknown.unweighed.one": "A hand-over from {giver} to {taker} was not weighed on arrival.",
        "unknown.unweighed.other": "{n} hand-overs from {giver} to {taker} were not weighed on arrival.",
        "unknown.custody_gap.one": "{user} used gold last recorded with {holder}: the hand-over between them is not recorded.",
        "unknown.custody_gap.other": "{user} used {n} lots last recorded with {holder}: the hand-overs between them are not recorded.",
        "unknown.unassayed.one": "{n} lot reached this piece without any assay on the way.",
        "unknown.unassayed.other": "{n} lots reached this piece without any assay on the way.",
        "unknown.gross_basis": "The fineness of some gold is unknown, so the shares above are by weight of metal, not of fine gold.",
        "unknown.unregistered_miners": "Of the people who sold the gold, {people} are not in the miners' register.",
        "unknown.unchecked": "The automatic checks that look for inconsistencies (a lot sold twice, weight gained on the way, production beyond a pit's capacity) have not been run on this record yet.",
        "party.unnamed": "a party not in the register",
        "origin.title": "Where its gold came from",
        "origin.site": "{name}, {region}, {country}",
        "origin.untraced": "Not traced to a mine",
        "origin.basis_fine": "Shares of the fine gold in the piece, followed by weight through every merge and refining.",
        "origin.basis_gross": "Shares by weight of metal (some fineness is unknown).",
        "origin.privacy": "Exact locations of the pits are never published: they can put people at risk.",
        "journey.title": "From pit to piece",
        "journey.mined": "Mined at {sites}",
        "journey.mined_count.one": "{n} lot dug by a team of miners",
        "journey.mined_count.other": "{n} lots dug by teams of miners",
        "journey.bought": "Bought from the miners by {actor}",
        "journey.handed": "Handed over by {actor} to {to}",
        "journey.received": "Weighed on arrival by {actor}",
        "journey.merged": "Combined into larger lots by {actor}",
        "journey.split": "Divided by {actor}",
        "journey.assayed": "Assayed by {actor}",
        "journey.exported": "Exported by {actor} to {to_country}",
        "journey.refined": "Refined by {actor}",
        "journey.made": "Made into this piece by {actor}",
        "journey.sold": "Sold by {actor}",
        "journey.times.one": "once",
        "journey.times.other": "{n} times",
        "journey.documents.one": "{n} document fingerprinted",
        "journey.documents.other": "{n} documents fingerprinted",
        "people.title": "Who mined it",
        "people.total": "{people} miners dug the gold of this piece",
        "people.total_few": "Fewer than 5 miners dug the gold of this piece",
        "people.women_share": "{share} of them are women",
        "people.women_few": "Fewer than 5 of them are women",
        "people.others_few": "All but fewer than 5 of them are women",
        "people.women_none": "No woman is recorded among them",
        "people.women_unknown": "The share of women is not shown for so small a group",
        "people.teams": "{led} of the {teams} teams with a team lead were led by a woman",
        "people.teams_few": "Some teams were led by women (fewer than 5 women team leads)",
        "people.teams_none": "No team is recorded with a woman as its lead",
        "people.teams_unknown": "No team lead is recorded for these lots",
        "people.privacy": "No name, photo or identifier of a miner is ever shown here, and no group of fewer than 5 people is counted.",
        "dd.title": "Due diligence",
        "dd.open.one": "{n} red flag is open",
        "dd.open.other": "{n} red flags are open",
        "dd.clear": "No red flag is open.",
        "dd.closed.one": "{n} earlier flag was closed after review.",
        "dd.closed.other": "{n} earlier flags were closed after review.",
        "dd.status": "Due-diligence status: {status}",
        "dd.audits": "Audits: {passed} passed, {failed} failed",
        "dd.unchecked": "No automatic red-flag check has been run on this record yet.",
        "dd.verified_title": "What is verified today",
        "attribution.all.one": "Its {n} step was recorded with the key of the organisation that did it.",
        "attribution.all.other": "Each of its {n} steps was recorded with the key of the organisation that did it.",
        "attribution.own.one": "{n} step was recorded with the key of the organisation that did it.",
        "attribution.own.other": "{n} steps were recorded with the key of the organisation that did them.",
        "attribution.on_behalf.one": "{n} step was entered by the platform's operator on an organisation's behalf.",
        "attribution.on_behalf.other": "{n} steps were entered by the platform's operator on organisations' behalf.",
        "attribution.unattested.one": "For {n} step, the key that recorded it is not known (recorded before keys were kept).",
        "attribution.unattested.other": "For {n} steps, the key that recorded them is not known (recorded before keys were kept).",
        "attribution.signed_all.one": "Its step carries the signature of the organisation that did it.",
        "attribution.signed_all.other": "Each of its {n} steps carries the signature of the organisation that did it.",
        "attribution.signed.one": "{n} of its {m} steps carries the signature of the organisation that did it.",
        "attribution.signed.other": "{n} of its {m} steps carry the signature of the organisation that did them.",
        "attribution.signed_note": "A signature is made with a key only that organisation holds: the platform cannot forge it.",
        "dd.verified.2": "Each event is sealed with a SHA-256 hash: it cannot be changed without it showing.",
        "dd.verified.3": "Only miners in the cooperative's register, at registered pits, count as traced.",
        "dd.verified.4": "Weights and assays are followed gram by gram from the pit to the piece.",
        "severity.high": "high",
        "severity.medium": "medium",
        "severity.low": "low",
        "flag.generic": "inconsistency found",
        "status.generic": "{code}",
        "integrity.title": "Can this record be trusted?",
        "integrity.events.one": "This record is made of {n} event, each sealed with a SHA-256 hash of its content.",
        "integrity.events.other": "This record is made of {n} events, each sealed with a SHA-256 hash of its content.",
        "integrity.evidence.one": "{n} supporting document (receipt, permit, assay certificate) is fingerprinted in it.",
        "integrity.evidence.other": "{n} supporting documents (receipts, permits, assay certificates) are fingerprinted in it.",
        "integrity.last": "Last event recorded on {date}.",
        "integrity.fingerprint": "Fingerprint of the record",
        "integrity.how": "Buyers, auditors and regulators can check it: the API gives every event with its hash (GET {path}); recompute each hash as SHA-256 of the event's canonical JSON (RFC 8785), and the fingerprint as SHA-256 of those hashes, one per line, in order.",
        "footer": "Oretrail: open provenance and impact data for responsible artisanal gold.",
        "notfound.title": "We could not find this piece",
        "notfound.body": "No piece with this code is in the record. Check the code on the label, or ask the jeweller who sold it.",
        "notfound.gs1": "No piece with GTIN {gtin} and serial {serial} is in the record.",
        "badcode.title": "This code is not valid",
        "badcode.body": "{gtin} is not a valid GTIN: its check digit is wrong.",
        "label.scan": "Scan to see where its gold came from",
        "month.1": "January", "month.2": "February", "month.3": "March", "month.4": "April", "month.5": "May",
        "month.6": "June", "month.7": "July", "month.8": "August", "month.9": "September", "month.10": "October",
        "month.11": "November", "month.12": "December",
        "date": "{day} {month} {year}",
        "range": "{first} – {last}",
        "and": "and",
        "country.CD": "DR Congo",
        "few": "fewer than 5",
        "stat.miners": "miners",
        "stat.women": "women",
        "stat.women_led": "teams led by a woman",
    },
    "fr": {
        "html.lang": "fr",
        "switch.label": "Langue",
        "brand.tagline": "L’or tracé de la mine au bijou",
        "piece.default": "Un bijou en or",
        "piece.karat": "or {karat} carats",
        "piece.mass": "{mass} g",
        "piece.serial": "n° de série {serial}",
        "piece.made": "Fabriqué par {maker} le {date}",
        "piece.made_anon": "Fabriqué le {date}",
        "piece.sold": "Vendu le {date}",
        "claim.title": "Ce que montre le registre",
        "claim.traced_all.one": "Son or est tracé jusqu’à {n} site minier en {places}.",
        "claim.traced_all.other": "Son or est tracé jusqu’à {n} sites miniers en {places}.",
        "claim.traced_part.one": "{share} de son or est tracé jusqu’à {n} site minier en {places}.",
        "claim.traced_part.other": "{share} de son or est tracé jusqu’à {n} sites miniers en {places}.",
        "claim.traced_none": "Son or n’est tracé jusqu’à aucun site minier enregistré.",
        "claim.weighed": "Chaque remise a été pesée par celui qui l’a reçue.",
        "claim.assayed": "Chaque lot a été analysé en chemin vers ce bijou.",
        "claim.no_gap": "Aucune remise ne manque au registre.",
        "claim.flags_clear": "Les contrôles automatiques n’ont trouvé aucune alerte ouverte.",
        "claim.flags_open.one": "{n} alerte est ouverte : voir plus bas.",
        "claim.flags_open.other": "{n} alertes sont ouvertes : voir plus bas.",
        "unknown.title": "Ce que l’on ne sait pas",
        "unknown.none": "Rien : chaque étape de ce registre est appuyée par une pesée ou une analyse enregistrée.",
        "unknown.no_site": "Aucune partie de son or n’est enregistrée comme venant d’un site minier enregistré.",
        "unknown.untraced.no_production_record": "{share} de l’or vient d’une source extérieure à la chaîne (par exemple de l’or recyclé), sans trace de la mine d’origine.",
        "unknown.untraced.unregistered_pit": "{share} de l’or a été produit dans un puits qui n’est pas enregistré.",
        "unknown.untraced.circular_lineage": "{share} de l’or a un historique circulaire qu’on ne peut pas remonter.",
        "unknown.untraced.unregistered_site": "{share} de l’or vient d’un site minier qui n’est pas enregistré.",
        "unknown.unweighed.one": "Une remise de {giver} à {taker} n’a pas été pesée à l’arrivée.",
        "unknown.unweighed.other": "{n} remises de {giver} à {taker} n’ont pas été pesées à l’arrivée.",
        "unknown.custody_gap.one": "{user} a utilisé de l’or enregistré en dernier chez {holder} : la remise entre eux n’est pas enregistrée.",
        "unknown.custody_gap.other": "{user} a utilisé {n} lots enregistrés en dernier chez {holder} : les remises entre eux ne sont pas enregistrées.",
        "unknown.unassayed.one": "{n} lot est arrivé jusqu’à ce bijou sans aucune analyse en chemin.",
        "unknown.unassayed.other": "{n} lots sont arrivés jusqu’à ce bijou sans aucune analyse en chemin.",
        "unknown.gross_basis": "La pureté d’une partie de l’or est inconnue : les parts ci-dessus sont en poids de métal, pas d’or fin.",
        "unknown.unregistered_miners": "Parmi les personnes qui ont vendu cet or, {people} ne sont pas inscrites au registre des mineurs.",
        "unknown.unchecked": "Les contrôles automatiques qui cherchent les incohérences (un lot vendu deux fois, un poids qui augmente en route, une production au-delà de la capacité d’un puits) n’ont pas encore été faits sur ce registre.",
        "party.unnamed": "une partie non enregistrée",
        "origin.title": "D’où vient son or",
        "origin.site": "{name}, {region}, {country}",
        "origin.untraced": "Non tracé jusqu’à une mine",
        "origin.basis_fine": "Parts de l’or fin du bijou, suivies au poids à travers chaque fusion et chaque affinage.",
        "origin.basis_gross": "Parts en poids de métal (une pureté est inconnue).",
        "origin.privacy": "La position exacte des puits n’est jamais publiée : elle peut mettre des personnes en danger.",
        "journey.title": "De la mine au bijou",
        "journey.mined": "Extrait à {sites}",
        "journey.mined_count.one": "{n} lot extrait par une équipe de mineurs",
        "journey.mined_count.other": "{n} lots extraits par des équipes de mineurs",
        "journey.bought": "Acheté aux mineurs par {actor}",
        "journey.handed": "Remis par {actor} à {to}",
        "journey.received": "Pesé à l’arrivée par {actor}",
        "journey.merged": "Regroupé en lots plus grands par {actor}",
        "journey.split": "Divisé par {actor}",
        "journey.assayed": "Analysé par {actor}",
        "journey.exported": "Exporté par {actor}, destination : {to_country}",
        "journey.refined": "Affiné par {actor}",
        "journey.made": "Transformé en ce bijou par {actor}",
        "journey.sold": "Vendu par {actor}",
        "journey.times.one": "une fois",
        "journey.times.other": "{n} fois",
        "journey.documents.one": "{n} document authentifié par son empreinte",
        "journey.documents.other": "{n} documents authentifiés par leur empreinte",
        "people.title": "Qui l’a extrait",
        "people.total": "{people} mineurs et mineuses ont extrait l’or de ce bijou",
        "people.total_few": "Moins de 5 personnes ont extrait l’or de ce bijou",
        "people.women_share": "{share} sont des femmes",
        "people.women_few": "Moins de 5 d’entre eux sont des femmes",
        "people.others_few": "Toutes sauf moins de 5 sont des femmes",
        "people.women_none": "Aucune femme n’est enregistrée parmi eux",
        "people.women_unknown": "La part des femmes n’est pas montrée pour un si petit groupe",
        "people.teams": "{led} des {teams} équipes ayant un chef d’équipe étaient dirigées par une femme",
        "people.teams_few": "Des équipes étaient dirigées par des femmes (moins de 5 cheffes d’équipe)",
        "people.teams_none": "Aucune équipe n’est enregistrée avec une femme à sa tête",
        "people.teams_unknown": "Aucun chef d’équipe n’est enregistré pour ces lots",
        "people.privacy": "Aucun nom, aucune photo, aucun identifiant de mineur n’est jamais montré ici, et aucun groupe de moins de 5 personnes n’est compté.",
        "dd.title": "Devoir de diligence",
        "dd.open.one": "{n} alerte est ouverte",
        "dd.open.other": "{n} alertes sont ouvertes",
        "dd.clear": "Aucune alerte n’est ouverte.",
        "dd.closed.one": "{n} alerte antérieure a été close après examen.",
        "dd.closed.other": "{n} alertes antérieures ont été closes après examen.",
        "dd.status": "Statut du devoir de diligence : {status}",
        "dd.audits": "Audits : {passed} réussis, {failed} échoués",
        "dd.unchecked": "Aucun contrôle automatique d’alertes n’a encore été fait sur ce registre.",
        "dd.verified_title": "Ce qui est vérifié aujourd’hui",
        "attribution.all.one": "Son étape a été enregistrée avec la clé de l’organisation qui l’a faite.",
        "attribution.all.other": "Chacune de ses {n} étapes a été enregistrée avec la clé de l’organisation qui l’a faite.",
        "attribution.own.one": "{n} étape a été enregistrée avec la clé de l’organisation qui l’a faite.",
        "attribution.own.other": "{n} étapes ont été enregistrées avec la clé de l’organisation qui les a faites.",
        "attribution.on_behalf.one": "{n} étape a été saisie par l’opérateur de la plateforme pour le compte d’une organisation.",
        "attribution.on_behalf.other": "{n} étapes ont été saisies par l’opérateur de la plateforme pour le compte d’organisations.",
        "attribution.unattested.one": "Pour {n} étape, la clé qui l’a enregistrée n’est pas connue (enregistrée avant que les clés soient conservées).",
        "attribution.unattested.other": "Pour {n} étapes, la clé qui les a enregistrées n’est pas connue (enregistrées avant que les clés soient conservées).",
        "attribution.signed_all.one": "Son étape porte la signature de l’organisation qui l’a faite.",
        "attribution.signed_all.other": "Chacune de ses {n} étapes porte la signature de l’organisation qui l’a faite.",
        "attribution.signed.one": "{n} de ses {m} étapes porte la signature de l’organisation qui l’a faite.",
        "attribution.signed.other": "{n} de ses {m} étapes portent la signature des organisations qui les ont faites.",
        "attribution.signed_note": "Une signature est faite avec une clé que seule cette organisation détient : la plateforme ne peut pas la contrefaire.",
        "dd.verified.2": "Chaque événement est scellé par une empreinte SHA-256 : on ne peut pas le modifier sans que cela se voie.",
        "dd.verified.3": "Seuls les mineurs inscrits au registre de la coopérative, dans des puits enregistrés, comptent comme tracés.",
        "dd.verified.4": "Les poids et les analyses sont suivis gramme par gramme, de la mine au bijou.",
        "severity.high": "élevée",
        "severity.medium": "moyenne",
        "severity.low": "faible",
        "flag.generic": "incohérence trouvée",
        "status.generic": "{code}",
        "integrity.title": "Peut-on se fier à ce registre ?",
        "integrity.events.one": "Ce registre est fait de {n} événement, scellé par une empreinte SHA-256 de son contenu.",
        "integrity.events.other": "Ce registre est fait de {n} événements, chacun scellé par une empreinte SHA-256 de son contenu.",
        "integrity.evidence.one": "{n} pièce justificative (reçu, permis, certificat d’analyse) y est authentifiée par son empreinte.",
        "integrity.evidence.other": "{n} pièces justificatives (reçus, permis, certificats d’analyse) y sont authentifiées par leur empreinte.",
        "integrity.last": "Dernier événement enregistré le {date}.",
        "integrity.fingerprint": "Empreinte du registre",
        "integrity.how": "Acheteurs, auditeurs et régulateurs peuvent le vérifier : l’API donne chaque événement avec son empreinte (GET {path}) ; recalculez chaque empreinte comme le SHA-256 du JSON canonique de l’événement (RFC 8785), et l’empreinte du registre comme le SHA-256 de ces empreintes, une par ligne, dans l’ordre.",
        "footer": "Oretrail : données ouvertes de provenance et d’impact pour l’or artisanal responsable.",
        "notfound.title": "Nous n’avons pas trouvé ce bijou",
        "notfound.body": "Aucun bijou portant ce code n’est dans le registre. Vérifiez le code sur l’étiquette, ou demandez au bijoutier qui l’a vendu.",
        "notfound.gs1": "Aucun bijou de GTIN {gtin} et de numéro de série {serial} n’est dans le registre.",
        "badcode.title": "Ce code n’est pas valide",
        "badcode.body": "{gtin} n’est pas un GTIN valide : sa clé de contrôle est fausse.",
        "label.scan": "Scannez pour savoir d’où vient son or",
        "month.1": "janvier", "month.2": "février", "month.3": "mars", "month.4": "avril", "month.5": "mai",
        "month.6": "juin", "month.7": "juillet", "month.8": "août", "month.9": "septembre", "month.10": "octobre",
        "month.11": "novembre", "month.12": "décembre",
        "date": "{day} {month} {year}",
        "range": "du {first} au {last}",
        "and": "et",
        "country.CD": "RD Congo",
        "few": "moins de 5",
        "stat.miners": "mineurs et mineuses",
        "stat.women": "de femmes",
        "stat.women_led": "équipes dirigées par une femme",
    },
}

#: flag categories (due diligence and the automatic checks) with their words; unknown codes read as "inconsistency found"
FLAG_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "serious_abuse": "serious abuse", "child_labour": "child labour", "forced_labour": "forced labour",
        "sexual_violence": "sexual violence", "armed_group": "armed group", "security_forces": "security forces",
        "bribery": "bribery", "misrepresentation": "misrepresentation of origin", "money_laundering": "money laundering",
        "unpaid_taxes": "unpaid taxes or royalties", "environment": "environmental harm",
        "double_use": "a lot used twice", "mass_gain": "weight gained on the way", "mass_balance": "output heavier than input",
        "over_capacity": "production beyond a pit's capacity", "inactive_pit": "production from an inactive pit",
        "unknown_miner": "gold from a miner not in the register",
    },
    "fr": {
        "serious_abuse": "atteintes graves", "child_labour": "travail des enfants", "forced_labour": "travail forcé",
        "sexual_violence": "violences sexuelles", "armed_group": "groupe armé", "security_forces": "forces de sécurité",
        "bribery": "corruption", "misrepresentation": "fausse déclaration d’origine", "money_laundering": "blanchiment",
        "unpaid_taxes": "taxes ou redevances impayées", "environment": "atteinte à l’environnement",
        "double_use": "un lot utilisé deux fois", "mass_gain": "poids gagné en route", "mass_balance": "sortie plus lourde que l’entrée",
        "over_capacity": "production au-delà de la capacité d’un puits", "inactive_pit": "production d’un puits inactif",
        "unknown_miner": "or d’un mineur non inscrit",
    },
}


class Translator:
    """Messages and number, date and country formats of one language."""

    def __init__(self, lang: str):
        self.lang = lang if lang in CATALOGUE else DEFAULT
        self.messages = CATALOGUE[self.lang]

    def __call__(self, key: str, n: int | None = None, **values: Any) -> str:
        """The message ``key`` (its singular or plural form for ``n``), with ``values`` filled in."""
        if n is not None:
            singular = n == 1 or (self.lang == "fr" and n == 0)
            key = f"{key}.{'one' if singular else 'other'}"
        return self.messages[key].format(n=n, **values)

    def number(self, value: float | None, digits: int = 1) -> str:
        """A number with the language's decimal mark and no useless trailing zeros."""
        if value is None:
            return "?"
        text = f"{value:,.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if self.lang == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def percent(self, share: float | None) -> str:
        """A share as a percentage ("88 %" in French); under 1 % reads "< 1 %"."""
        if share is None:
            return "?"
        value = share * 100
        text = "< 1" if 0 < value < 1 else (self.number(value, 1) if value < 10 and value % 1 else f"{round(value)}")
        return f"{text}\u202f%" if self.lang == "fr" else f"{text}%"

    def date(self, iso: str | None) -> str:
        """``YYYY-MM-DD`` as "2 March 2026" / "2 mars 2026"."""
        if not iso or len(iso) < 10:
            return "?"
        year, month, day = iso[:4], int(iso[5:7]), int(iso[8:10])
        return self("date", day=day if not (self.lang == "fr" and day == 1) else "1er",
                    month=self(f"month.{month}"), year=year)

    def span(self, first: str | None, last: str | None) -> str:
        """A date, or a range of two dates."""
        return self.date(first) if first == last else self("range", first=self.date(first), last=self.date(last))

    def country(self, code: str | None) -> str:
        """A country's name from its ISO 3166 alpha-2 code."""
        return country_name(code, self.lang)

    def join(self, items: list[str]) -> str:
        """"a, b and c"."""
        items = [item for item in items if item]
        if len(items) <= 1:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self('and')} {items[-1]}"

    def party(self, name: str | None) -> str:
        """A party's public name, or "a party not in the register"."""
        return name or self("party.unnamed")

    def flag(self, code: str | None) -> str:
        """The words for a red flag's category."""
        return FLAG_WORDS[self.lang].get(code or "", self("flag.generic"))

    def status(self, code: str | None) -> str:
        """A due-diligence status code in words (codes are shown with spaces when not in the catalogue)."""
        return (code or "?").replace("_", " ")


@lru_cache(maxsize=512)
def country_name(code: str | None, lang: str) -> str:
    """The name of a country in ``lang`` (pycountry's names and French translations, a few shortened)."""
    if not code:
        return "?"
    override = CATALOGUE.get(lang, {}).get(f"country.{code}")
    if override:
        return override
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    if lang == "en":
        return name
    return _translations(lang).gettext(country.name)


@lru_cache(maxsize=4)
def _translations(lang: str) -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)


def negotiate(query: str | None, cookie: str | None, accept_language: Any) -> str:
    """The page's language: ``?lang=``, else the ``lang`` cookie, else ``Accept-Language``, else English."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    best = accept_language.best_match(LANGUAGES) if accept_language is not None else None
    return best or DEFAULT
