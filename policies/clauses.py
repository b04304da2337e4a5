"""The school-policy clauses Steward's rules enforce, quoted so that refusals can cite them.

Sources are the policies in `shared/school-policies/`. Each clause has a short id used in audit
events (`clause=...`) and a citation used in messages to people.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Clause:
    """One clause of one school's policy."""

    id: str
    document: str
    section: str
    text: str

    def citation(self) -> str:
        """Return '<document>, <section>: "<text>"' for messages to people."""
        return f'{self.document}, {self.section}: "{self.text}"'


CLAUSES = {clause.id: clause for clause in [
    Clause("st-marys.slt-posts", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "Tweets on the school's Twitter account will be posted by the SLT and any members of "
           "staff who wish to add a specific tweet must do so via a member of the SLT (this will "
           "ensure all tweets made by the school are appropriate and have been checked)."),
    Clause("rochester.second-reader", "City of Rochester online safety policy",
           "5. Official use of social media",
           "Public communications on behalf of the setting will, where appropriate and possible, "
           "be read and agreed by at least one other colleague."),
    Clause("rochester.scrutiny", "City of Rochester online safety policy",
           "5. Official use of social media",
           "All communication on official social media platforms by staff on behalf of the "
           "setting will be clear, transparent and open to scrutiny."),
    Clause("rochester.inclusive", "City of Rochester online safety policy",
           "5. Official use of social media",
           "We will ensure that any official social media use does not exclude members of the "
           "community who are unable or unwilling to use social media channels."),
    Clause("loughton.headteacher-consent", "Loughton School social media policy",
           "Staff use of social media, iv",
           "Staff must not post pictures of school events without the Headteacher's consent."),
    Clause("st-marys.no-geolocation", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "The school's Twitter account will disable geographical location data so that tweets "
           "made off site such as on a school trip or school journey residential trip cannot be "
           "geographically traced."),
    Clause("st-marys.no-full-names", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "The school's Twitter account will never tweet or make reference to the full names of "
           "children in our school."),
    Clause("st-marys.no-personal-information", "St Mary's CE Primary social media policy",
           "Protocols and Guidelines for Twitter",
           "Do not post or publish any kind of personal information such as full names, age, "
           "contact numbers, where you live etc."),
    Clause("st-marys.known-organisations", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "The school's Twitter account is to be used as a blog to record school activity, "
           "provide announcements and reminders and to tweet posts or links that reference "
           "established and known organisations that the school deems as appropriate and "
           "useful."),
    Clause("st-marys.no-faces", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "To help protect the identity and privacy of pupils and members of staff we will never "
           "publish photographs or videos in which our children and staff can be identified by "
           "face on our school Twitter account."),
    Clause("st-marys.photo-consent", "St Mary's CE Primary social media policy",
           "School Sanctioned Use of Social Media",
           "Staff must not publish photographs of children without the written consent of "
           "parents/carers."),
    Clause("wightwick.restricted-list", "Wightwick Hall School social media policy",
           "Using social media on behalf of Wightwick Hall School",
           "Photographs must be checked carefully to ensure that children who are on the "
           "restricted list are never shown on the social media."),
    Clause("st-marys.copy-remove-report", "St Mary's CE Primary social media policy",
           "School Sanctioned Use of Social Media",
           "Any inappropriate comments on or abuse of school-sanctioned social media should "
           "immediately be copied, removed and reported to either the Head Teacher or e-Safety "
           "coordinator."),
    Clause("st-marys.block-or-report", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "The school's Twitter account will block or report any user that is disrespectful, "
           "offensive, inappropriate or misuses the service."),
    Clause("wightwick.hide", "Wightwick Hall School social media policy",
           "Procedures", "The school will 'hide' such comments that any parent/carer make."),
    Clause("loughton.incident-log", "Loughton School social media policy",
           "F. Dealing with incidents of online bullying",
           "Instances of online bullying will be dealt with according to the school's Behaviour "
           "Policy and will be documented in the eSafety Incident Log."),
    Clause("st-marys.verified-followers", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "'Followers' of our school Twitter account will only be accepted once their associated "
           "e-mail has been verified as the e-mail they have provided on records held by the "
           "school office."),
    Clause("st-marys.follows-organisations-only", "St Mary's CE Primary social media policy",
           "Guidelines for Twitter",
           "The school's Twitter account will not follow the personal accounts of parents, "
           "carers, members of staff, children or anyone else."),
    Clause("wightwick.messaging-off", "Wightwick Hall School social media policy",
           "Questions about the school's Facebook page",
           "The messaging services that Facebook provide will be switched off, parents will "
           "continue to contact the school the official way, via the school telephone number or "
           "staff work email address."),
    Clause("loughton.check-privacy", "Loughton School social media policy",
           "Staff use of social media, vii",
           "Staff must review and adjust their privacy settings to give them the fullest level "
           "of privacy and confidentiality. ... This must be checked regularly to ensure privacy "
           "levels are maintained."),
    Clause("wightwick.accounts-belong-to-school", "Wightwick Hall School social media policy",
           "Using social media on behalf of Wightwick Hall School",
           "Social media accounts for the school remain property of the organisation. Named "
           "administrator will be required to provide the employer with full access to the "
           "accounts upon request and when the employer leaves the organisation."),
    Clause("rochester.leadership-access", "City of Rochester online safety policy",
           "5. Official use of social media",
           "Leadership staff have access to account information and login details for our "
           "social media channels and manage the account."),
    Clause("steward.format", "Steward submission format", "README, 'Writing a post'",
           "A post is post.md with TOML front matter between +++ lines, the media it names, "
           "and approval signatures."),
]}
