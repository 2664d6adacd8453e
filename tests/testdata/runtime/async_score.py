import asyncio
import threading


def init():
    pass


async def run(data):
    await asyncio.sleep(0.01)
    return {"async": True, "thread": threading.current_thread().name, "data": data}
