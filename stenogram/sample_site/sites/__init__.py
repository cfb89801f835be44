"""Per-source renderers: each turns a `Request` into a `Response` with that platform's markup."""
from stenogram.sample_site.sites.bitrix import BitrixSite
from stenogram.sample_site.sites.dle import DleSite
from stenogram.sample_site.sites.domino import DominoSite
from stenogram.sample_site.sites.globalsecurity import GlobalSecuritySite
from stenogram.sample_site.sites.liferay import LiferaySite

RENDERERS = {"mid": BitrixSite, "mid_archive": LiferaySite, "globalsecurity": GlobalSecuritySite,
             "interaffairs": DleSite, "mid_domino": DominoSite}
