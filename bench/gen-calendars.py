#!/usr/bin/env python3
"""Generates a year of calendars for PEOPLE people (deterministic): each has
a daily stand-up, a weekly one-to-one and three weekly team meetings (all
recurring, some with exceptions), and about 1,500 one-off meetings of 30 to
120 minutes with 2 to 6 attendees; writes OUT/person-N.ics and
OUT/people.toml ([[person]] entries). About 2,000 occurrences a person."""
import argparse, os, random

parser = argparse.ArgumentParser()
parser.add_argument("--people", type=int, default=50)
parser.add_argument("--out", required=True)
parser.add_argument("--year", type=int, default=2024)
args = parser.parse_args()
random.seed(7)
os.makedirs(args.out, exist_ok=True)
zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London"]
occurrences = 0
with open(os.path.join(args.out, "people.toml"), "w") as toml:
    for p in range(args.people):
        zone = zones[p % len(zones)]
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fulcrum bench//EN"]
        def event(uid, start, minutes, rrule=None, exdates=()):
            lines.extend([
                "BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:Meeting {uid}",
                f"DTSTART;TZID={zone}:{start}", f"DURATION:PT{minutes}M",
            ])
            if rrule:
                lines.append(f"RRULE:{rrule}")
            for ex in exdates:
                lines.append(f"EXDATE;TZID={zone}:{ex}")
            lines.append(f"ORGANIZER:mailto:p{p}@bench.example")
            for a in random.sample(range(args.people), random.randint(1, 5)):
                lines.append(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:p{a}@bench.example")
            lines.append("END:VEVENT")
        y = args.year
        event(f"standup-{p % 10}", f"{y}0101T093000", 15, f"FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL={y}1231T235959Z",
              [f"{y}0701T093000", f"{y}1224T093000"])
        event(f"one-to-one-{p}", f"{y}0102T140000", 30, f"FREQ=WEEKLY;BYDAY=TU;COUNT=52")
        for k, (day, hour) in enumerate([("MO", "11"), ("WE", "15"), ("TH", "10")]):
            event(f"team-{p % 10}-{k}", f"{y}0101T{hour}0000", 60, f"FREQ=WEEKLY;BYDAY={day};UNTIL={y}1231T235959Z")
        occurrences += 261 + 52 + 3 * 52
        for i in range(1500):
            month, day = random.randint(1, 12), random.randint(1, 28)
            hour, minute = random.randint(8, 17), random.choice([0, 30])
            event(f"p{p}-o{i}", f"{y}{month:02}{day:02}T{hour:02}{minute:02}00", random.choice([30, 45, 60, 90, 120]))
        occurrences += 1500
        lines.append("END:VCALENDAR")
        path = os.path.join(args.out, f"person-{p}.ics")
        with open(path, "w") as f:
            f.write("\r\n".join(lines) + "\r\n")
        toml.write(f'[[person]]\nname = "p{p}"\nemails = ["p{p}@bench.example"]\ncalendars = ["{path}"]\ntime_zone = "{zone}"\n\n')
print(f"{args.people} calendars, about {occurrences} occurrences, in {args.out}")
